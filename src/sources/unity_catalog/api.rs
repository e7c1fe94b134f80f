//! The Unity Catalog REST API (`/api/2.1/unity-catalog`) as both Unity
//! Catalog OSS and Databricks workspaces serve it: catalogs, schemas and
//! tables (listings paged through `page_token`), one table's description,
//! and temporary table credentials.
//!
//! Only what the API reference promises is relied on: every field but a
//! table's `name` may be missing, and unknown fields are ignored.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use datafusion::arrow::datatypes::{Schema, SchemaRef};
use parking_lot::Mutex;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;
use serde_json::json;

use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::sources::databricks_sql::arrow_field;
use crate::workspace::WorkspaceClient;

/// Unity Catalog error codes meaning "no such catalog, schema or table":
/// Databricks', Unity Catalog OSS's (before and since 0.5), and the bare
/// status of a server that sends no code.
const NOT_FOUND: [&str; 8] = [
    "TABLE_DOES_NOT_EXIST",
    "SCHEMA_DOES_NOT_EXIST",
    "CATALOG_DOES_NOT_EXIST",
    "TABLE_NOT_FOUND",
    "SCHEMA_NOT_FOUND",
    "CATALOG_NOT_FOUND",
    "NOT_FOUND",
    "404",
];

/// Where temporary table credentials are vended: Unity Catalog OSS serves
/// the 2.1 path, Databricks workspaces the 2.0 one.
const CREDENTIAL_PATHS: [&str; 2] = [
    "api/2.1/unity-catalog/temporary-table-credentials",
    "api/2.0/unity-catalog/temporary-table-credentials",
];

/// Whether `err`, from the Unity Catalog API, says the object is absent.
pub(crate) fn is_not_found(err: &Error) -> bool {
    matches!(err, Error::Remote { error_class: Some(code), .. } if NOT_FOUND.contains(&code.as_str()))
}

/// Whether `err` says the server has no such route (so the other
/// credentials path is tried).
fn is_missing_endpoint(err: &Error) -> bool {
    matches!(err, Error::Remote { error_class: Some(code), .. }
        if code == "ENDPOINT_NOT_FOUND" || code == "404" || code == "405")
}

/// A client of a Unity Catalog server (cheap to clone).
#[derive(Clone, Debug)]
pub struct UnityCatalogApi {
    workspace: WorkspaceClient,
    /// The credentials path that answered, once one has.
    credentials_path: Arc<Mutex<Option<&'static str>>>,
}

/// `GET /tables/{full_name}`: the fields lakefed reads.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct TableInfo {
    /// The table's name.
    pub name: String,
    /// MANAGED, EXTERNAL, VIEW, MATERIALIZED_VIEW, STREAMING_TABLE, ...
    pub table_type: Option<String>,
    /// DELTA, PARQUET, CSV, JSON, ...
    pub data_source_format: Option<String>,
    /// The columns, in any order (see `position`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub columns: Vec<ColumnInfo>,
    /// Where the table's files are (`s3://bucket/path`).
    pub storage_location: Option<String>,
    /// The id temporary credentials are asked for.
    pub table_id: Option<String>,
    /// A row filter (Databricks): rows are filtered for the reader.
    pub row_filter: Option<serde_json::Value>,
    /// Table properties (Delta table features among them).
    #[serde(default, deserialize_with = "null_as_default")]
    pub properties: HashMap<String, String>,
}

/// A JSON `null` as the default value, as for a missing field.
fn null_as_default<'de, D, T>(deserializer: D) -> std::result::Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::deserialize(deserializer)?.unwrap_or_default())
}

/// One column of a [`TableInfo`] (or of a statement result manifest).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ColumnInfo {
    /// The column's name.
    pub name: String,
    /// The type in Spark's DDL spelling (`decimal(10,2)`, `array<int>`).
    pub type_text: Option<String>,
    /// The type's name (`INT`, `DECIMAL`, ...).
    pub type_name: Option<String>,
    /// The column's place, from 0.
    pub position: Option<usize>,
    /// A column mask (Databricks): values are masked for the reader.
    pub mask: Option<serde_json::Value>,
    /// The column's place among the partition columns, if it is one.
    pub partition_index: Option<usize>,
}

impl TableInfo {
    /// Whether the table's Delta commits are coordinated by the catalog
    /// (Delta's `catalogManaged` table feature, `catalogOwned-preview`
    /// before it): its latest commits may not be in `_delta_log` yet.
    pub fn is_catalog_managed(&self) -> bool {
        [
            "delta.feature.catalogManaged",
            "delta.feature.catalogOwned-preview",
        ]
        .iter()
        .any(|key| self.properties.contains_key(*key))
    }

    /// The table's columns as an Arrow schema, from their `type_text`.
    /// Every column may hold NULLs, whatever `nullable` says: a column mask
    /// may return NULL for a NOT NULL column, and DataFusion would answer
    /// `masked IS NULL` as false without asking the engine.
    pub fn schema(&self) -> Result<SchemaRef> {
        columns_schema(&self.columns).map(Arc::new)
    }
}

/// The Arrow schema of columns as Unity Catalog (or a statement's result
/// manifest, which uses the same fields) describes them, in position
/// order, every field nullable.
pub(crate) fn columns_schema(columns: &[ColumnInfo]) -> Result<Schema> {
    let mut columns: Vec<&ColumnInfo> = columns.iter().collect();
    columns.sort_by_key(|column| column.position);
    let fields = columns
        .iter()
        .map(|column| {
            let type_text = column
                .type_text
                .as_deref()
                .or(column.type_name.as_deref())
                .ok_or_else(|| {
                    Error::InvalidArgument(format!("column '{}' has no type", column.name))
                })?;
            arrow_field(&column.name, type_text, true)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Schema::new(fields))
}

/// What temporary table credentials are asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableOperation {
    /// Reading the table's files.
    Read,
    /// Reading and writing them.
    ReadWrite,
}

impl TableOperation {
    fn as_str(self) -> &'static str {
        match self {
            TableOperation::Read => "READ",
            TableOperation::ReadWrite => "READ_WRITE",
        }
    }
}

/// What `POST /temporary-table-credentials` answers: credentials of the
/// kind of the table's cloud (one of the three is set). `Debug` shows no
/// secret.
#[derive(Debug, Deserialize)]
pub struct TemporaryCredentials {
    /// AWS session credentials (S3 locations).
    pub aws_temp_credentials: Option<AwsTemporaryCredentials>,
    /// An Azure shared access signature (ADLS / Blob storage locations).
    pub azure_user_delegation_sas: Option<AzureUserDelegationSas>,
    /// A Google OAuth access token (GCS locations).
    pub gcp_oauth_token: Option<GcpOauthToken>,
    /// When the credentials expire, in milliseconds since the epoch.
    pub expiration_time: Option<i64>,
}

/// AWS session credentials.
#[derive(Debug, Deserialize)]
pub struct AwsTemporaryCredentials {
    /// The access key id.
    pub access_key_id: Secret,
    /// The secret access key.
    pub secret_access_key: Secret,
    /// The session token.
    pub session_token: Option<Secret>,
}

/// An Azure user delegation SAS.
#[derive(Debug, Deserialize)]
pub struct AzureUserDelegationSas {
    /// The SAS token: the query string (without `?`) that signs a request.
    /// Read only by the `azure` feature's store.
    #[cfg_attr(not(feature = "azure"), allow(dead_code))]
    pub sas_token: Secret,
}

/// A Google Cloud OAuth access token.
#[derive(Debug, Deserialize)]
pub struct GcpOauthToken {
    /// The bearer token. Read only by the `gcs` feature's store.
    #[cfg_attr(not(feature = "gcs"), allow(dead_code))]
    pub oauth_token: Secret,
}

/// One page of a listing (of catalogs, schemas or tables).
#[derive(Deserialize)]
struct Page {
    #[serde(default, deserialize_with = "null_as_default")]
    catalogs: Vec<Listed>,
    #[serde(default, deserialize_with = "null_as_default")]
    schemas: Vec<Listed>,
    #[serde(default, deserialize_with = "null_as_default")]
    tables: Vec<Listed>,
    next_page_token: Option<String>,
}

/// One entry of a listing.
#[derive(Clone, Debug, Deserialize)]
pub struct Listed {
    /// The catalog's, schema's or table's name.
    pub name: String,
    /// A table's type (MANAGED, EXTERNAL, VIEW, ...), when given.
    pub table_type: Option<String>,
}

impl UnityCatalogApi {
    /// The Unity Catalog API of the server `workspace` talks to.
    pub fn new(workspace: WorkspaceClient) -> Self {
        Self {
            workspace,
            credentials_path: Arc::new(Mutex::new(None)),
        }
    }

    /// A key equal for clones of this client, different between clients.
    pub fn identity_key(&self) -> String {
        self.workspace.identity_key()
    }

    /// The names of every catalog.
    pub async fn catalog_names(&self) -> Result<Vec<String>> {
        let query = [("max_results", "0")];
        let listed = self.list("api/2.1/unity-catalog/catalogs", &query).await?;
        Ok(listed.into_iter().map(|entry| entry.name).collect())
    }

    /// The names of the schemas of `catalog`.
    pub async fn schema_names(&self, catalog: &str) -> Result<Vec<String>> {
        let query = [("catalog_name", catalog), ("max_results", "0")];
        let listed = self.list("api/2.1/unity-catalog/schemas", &query).await?;
        Ok(listed.into_iter().map(|entry| entry.name).collect())
    }

    /// The names of the tables (and views) of `catalog.schema`.
    pub async fn table_names(&self, catalog: &str, schema: &str) -> Result<Vec<String>> {
        let tables = self.tables(catalog, schema).await?;
        Ok(tables.into_iter().map(|entry| entry.name).collect())
    }

    /// The tables (and views) of `catalog.schema`, with their types.
    pub async fn tables(&self, catalog: &str, schema: &str) -> Result<Vec<Listed>> {
        let query = [
            ("catalog_name", catalog),
            ("schema_name", schema),
            // Names only: columns are read when a query names a table.
            ("omit_columns", "true"),
            ("omit_properties", "true"),
            ("max_results", "0"),
        ];
        self.list("api/2.1/unity-catalog/tables", &query).await
    }

    /// The description of `catalog.schema.table`; `None` if there is none.
    pub async fn table(
        &self,
        catalog: &str,
        schema: &str,
        table: &str,
    ) -> Result<Option<TableInfo>> {
        let full_name = [catalog, schema, table]
            .iter()
            .map(|part| utf8_percent_encode(part, NON_ALPHANUMERIC).to_string())
            .collect::<Vec<_>>()
            .join(".");
        let path = format!("api/2.1/unity-catalog/tables/{full_name}");
        // Unity Catalog OSS reports materialized views and streaming tables
        // as MANAGED unless told not to; they are governed, never read
        // from storage.
        let query = [
            ("read_streaming_table_as_managed", "false"),
            ("read_materialized_view_as_managed", "false"),
        ];
        match self.workspace.get::<TableInfo>(&path, &query).await {
            Ok(info) => Ok(Some(info)),
            Err(err) if is_not_found(&err) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Temporary credentials for `operation` on the table `table_id`, from
    /// the path the server serves (learned on the first answer).
    pub async fn temporary_table_credentials(
        &self,
        table_id: &str,
        operation: TableOperation,
    ) -> Result<TemporaryCredentials> {
        let body = json!({"table_id": table_id, "operation": operation.as_str()});
        let known = *self.credentials_path.lock();
        if let Some(path) = known {
            return self.workspace.post(path, &body).await;
        }
        for path in CREDENTIAL_PATHS {
            match self.workspace.post(path, &body).await {
                Ok(credentials) => {
                    *self.credentials_path.lock() = Some(path);
                    return Ok(credentials);
                }
                Err(err) if is_missing_endpoint(&err) => continue,
                Err(err) => return Err(err),
            }
        }
        Err(Error::Remote {
            endpoint: self.workspace.host().to_string(),
            error_class: Some("ENDPOINT_NOT_FOUND".to_string()),
            sql_state: None,
            message: format!(
                "neither /{} nor /{} is served: is this a Unity Catalog server?",
                CREDENTIAL_PATHS[0], CREDENTIAL_PATHS[1]
            ),
        })
    }

    /// The entries of a paged listing, every page.
    async fn list(&self, path: &str, query: &[(&str, &str)]) -> Result<Vec<Listed>> {
        let mut names = Vec::new();
        let mut token: Option<String> = None;
        let mut seen = HashSet::new();
        loop {
            let mut page_query = query.to_vec();
            if let Some(token) = &token {
                page_query.push(("page_token", token));
            }
            let page: Page = self.workspace.get(path, &page_query).await?;
            let entries = page
                .catalogs
                .into_iter()
                .chain(page.schemas)
                .chain(page.tables);
            names.extend(entries);
            match page.next_page_token.filter(|t| !t.is_empty()) {
                Some(next) if !seen.insert(next.clone()) => {
                    return Err(Error::Remote {
                        endpoint: self.workspace.host().to_string(),
                        error_class: None,
                        sql_state: None,
                        message: format!("{path} returned a page token it gave before"),
                    });
                }
                Some(next) => token = Some(next),
                None => return Ok(names),
            }
        }
    }
}
