"""A local Databricks workspace, for testing clients of its REST APIs.

It answers the public Databricks REST API, field by field as the
`databricks-sdk` package (0.162) models it, and runs SQL on a real local
Spark 4.3 through Spark Connect. Start it with `scripts/workspace-emulator.sh
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
- Responses to `/api/` carry `X-Databricks-Org-Id`.

Deliberately not emulated
-------------------------
- The SQL dialect is Spark 4.3's, not Databricks SQL's: no Delta tables (the
  pyspark wheel has no Delta jars), no DML row counts (`num_affected_rows`).
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
- Unity Catalog is read-only: no create/update/delete, grants, owners other
  than what Spark records, `include_browse` and similar flags are ignored.

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
  "fail_next": [{"path_prefix": "/api/2.0/sql/statements", "status": 503,
  "retry_after": 1, "count": 2, "method": null}]}`. A fault answers the next
  `count` requests under the prefix with the status (a Databricks JSON error,
  or S3-style XML under /files/); 429 and 503 always carry Retry-After.
  Unknown settings are 400.
- `POST /emulator/reset`: default settings, no pending faults.
- `GET /emulator/stats`: `requests` per route ("POST
  /api/2.0/sql/statements": n, ...), `statements_submitted`,
  `running_statements`, `pending_statements`, `cancels_received` (cancel
  calls), `spark_operations_interrupted` (operations Spark reported
  interrupted), `chunk_downloads`, `bytes_served`,
  `link_refused_{authorization,expired,unknown,headers,gone}`,
  `faults_injected`, `auth_refused`, `oauth_tokens_issued` (counters appear
  once non-zero).

Environment: LAKEFED_WORKSPACE_SPARK_URL (sc://127.0.0.1:15002),
LAKEFED_WORKSPACE_TOKEN (dapi-lakefed-test-token), LAKEFED_WORKSPACE_CLIENT_ID
(lakefed-sp), LAKEFED_WORKSPACE_CLIENT_SECRET (lakefed-sp-secret),
LAKEFED_WORKSPACE_WAREHOUSE_ID (lakefed-wh), LAKEFED_WORKSPACE_SPOOL_DIR
(where result chunks are spooled; a temporary directory by default).
"""
