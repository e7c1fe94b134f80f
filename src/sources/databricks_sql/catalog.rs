//! A Unity Catalog catalog, queried through a SQL warehouse, as a DataFusion
//! catalog: `<source>.<schema>.<table>`.
//!
//! Listing and table schemas come from the workspace's Unity Catalog API
//! (`/api/2.1/unity-catalog/schemas`, `/tables`, `/tables/{full_name}`), so
//! planning never waits for a warehouse to start (a cold one takes
//! minutes); only the query itself runs on the warehouse. Listings page
//! through `page_token` and are cached for the life of the catalog; a
//! table's columns are looked up each time a query names it. DataFusion
//! folds unquoted names to lower case, as Unity Catalog stores them.
//!
//! Where the Unity Catalog API refuses (a catalog it does not govern, such
//! as `hive_metastore`, or an identity without access to the API) the
//! warehouse answers instead: `SHOW SCHEMAS`, `SHOW TABLES` and the result
//! manifest of the table's `SELECT ... LIMIT 0`.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::catalog::{CatalogProvider, SchemaProvider, TableProvider};
use datafusion::datasource::TableType;
use datafusion::error::Result as DFResult;
use futures::TryStreamExt;
use parking_lot::Mutex;

use super::client::{DatabricksSqlClient, StatementMetrics};
use crate::error::{Error, Result};
use crate::remote::sql::{object_reference, quote_identifier};
use crate::remote::{RemoteTable, RemoteTableName};
use crate::runtime::block_on_io;
use crate::sources::unity_catalog::UnityCatalogApi;

/// SQLSTATEs of statements that name a table, schema or catalog that does
/// not exist.
const SQL_NOT_FOUND: [&str; 3] = ["42P01", "42704", "42P08"];

/// Error codes with which the Unity Catalog API refuses to answer for a
/// catalog the warehouse can still query: no access to the API, a catalog
/// it does not govern, an API the workspace lacks.
const ASK_THE_WAREHOUSE: [&str; 8] = [
    "PERMISSION_DENIED",
    "FEATURE_DISABLED",
    "ENDPOINT_NOT_FOUND",
    "NOT_IMPLEMENTED",
    "INVALID_PARAMETER_VALUE",
    "BAD_REQUEST",
    "403",
    "501",
];

/// Whether the warehouse should answer in place of the Unity Catalog API
/// after `err` (not after a bad token, an outage or "not found").
fn ask_the_warehouse(err: &Error) -> bool {
    matches!(err, Error::Remote { error_class: Some(code), .. } if ASK_THE_WAREHOUSE.contains(&code.as_str()))
}

/// `parts` as a name a `SHOW` statement accepts: backtick-quoted. Spark
/// substitutes `${...}` even inside backticks, and `SHOW` takes no
/// `IDENTIFIER(...)`, so a name with `$` cannot be listed through SQL.
fn show_target(parts: &[&str]) -> Result<String> {
    if let Some(part) = parts.iter().find(|part| part.contains('$')) {
        return Err(Error::InvalidArgument(format!(
            "'{part}' contains '$': it cannot be listed through SQL, and the Unity Catalog API refused"
        )));
    }
    Ok(parts
        .iter()
        .map(|part| quote_identifier(part))
        .collect::<Vec<_>>()
        .join("."))
}

/// One Unity Catalog catalog of a workspace, queried on a SQL warehouse.
#[derive(Debug)]
pub struct DatabricksCatalog {
    client: DatabricksSqlClient,
    source: String,
    catalog: String,
    schemas: Mutex<Option<Vec<String>>>,
    providers: Mutex<HashMap<String, Arc<DatabricksSchema>>>,
}

impl DatabricksCatalog {
    /// The Unity Catalog catalog `catalog` of `client`'s workspace; `source`
    /// names it in EXPLAIN output.
    pub fn new(client: DatabricksSqlClient, source: &str, catalog: &str) -> Self {
        Self {
            client,
            source: source.to_string(),
            catalog: catalog.to_string(),
            schemas: Mutex::new(None),
            providers: Mutex::new(HashMap::new()),
        }
    }

    fn listing(&self) -> impl Future<Output = Result<Vec<String>>> + Send + 'static {
        let client = self.client.clone();
        let catalog = self.catalog.clone();
        async move {
            match UnityCatalogApi::new(client.workspace().clone())
                .schema_names(&catalog)
                .await
            {
                Err(err) if ask_the_warehouse(&err) => {
                    let sql = format!("SHOW SCHEMAS IN {}", show_target(&[&catalog])?);
                    shown_names(&client, &sql, &["databaseName", "namespace"]).await
                }
                listed => listed,
            }
        }
    }
}

impl CatalogProvider for DatabricksCatalog {
    fn schema_names(&self) -> Vec<String> {
        let mut cached = self.schemas.lock();
        if cached.is_none() {
            // The trait has no error channel: a workspace that cannot be
            // reached lists as empty, and queries naming its tables fail.
            if let Ok(names) = block_on_io(self.listing()) {
                *cached = Some(names);
            }
        }
        cached.clone().unwrap_or_default()
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        let mut providers = self.providers.lock();
        let schema = providers.entry(name.to_string()).or_insert_with(|| {
            Arc::new(DatabricksSchema {
                client: self.client.clone(),
                source: self.source.clone(),
                catalog: self.catalog.clone(),
                schema: name.to_string(),
                tables: Mutex::new(None),
            })
        });
        Some(schema.clone())
    }
}

/// One Unity Catalog schema as a DataFusion schema.
#[derive(Debug)]
pub struct DatabricksSchema {
    client: DatabricksSqlClient,
    source: String,
    catalog: String,
    schema: String,
    tables: Mutex<Option<Vec<String>>>,
}

impl DatabricksSchema {
    fn listing(&self) -> impl Future<Output = Result<Vec<String>>> + Send + 'static {
        let client = self.client.clone();
        let (catalog, schema_name) = (self.catalog.clone(), self.schema.clone());
        let schema = show_target(&[&self.catalog, &self.schema]);
        async move {
            let api = UnityCatalogApi::new(client.workspace().clone());
            match api.table_names(&catalog, &schema_name).await {
                Err(err) if ask_the_warehouse(&err) => {
                    let sql = format!("SHOW TABLES IN {}", schema?);
                    shown_names(&client, &sql, &["tableName"]).await
                }
                listed => listed,
            }
        }
    }

    /// The table's schema as Unity Catalog describes it (or, where its API
    /// refuses, as the warehouse does); `None` if there is no such table.
    async fn table_schema(&self, table: &str) -> Result<Option<SchemaRef>> {
        let api = UnityCatalogApi::new(self.client.workspace().clone());
        match api.table(&self.catalog, &self.schema, table).await {
            Ok(Some(info)) => info.schema().map(Some),
            Ok(None) => Ok(None),
            Err(err) if ask_the_warehouse(&err) => {
                let name = object_reference(&[&self.catalog, &self.schema, table]);
                match self.client.schema(&format!("SELECT * FROM {name}")).await {
                    Err(Error::Remote {
                        sql_state: Some(state),
                        ..
                    }) if SQL_NOT_FOUND.contains(&state.as_str()) => Ok(None),
                    described => described.map(Some),
                }
            }
            Err(err) => Err(err),
        }
    }
}

#[async_trait]
impl SchemaProvider for DatabricksSchema {
    fn table_names(&self) -> Vec<String> {
        let mut cached = self.tables.lock();
        if cached.is_none()
            && let Ok(names) = block_on_io(self.listing())
        {
            *cached = Some(names);
        }
        cached.clone().unwrap_or_default()
    }

    async fn table(&self, name: &str) -> DFResult<Option<Arc<dyn TableProvider>>> {
        let Some(schema) = self.table_schema(name).await? else {
            return Ok(None);
        };
        let name = RemoteTableName {
            catalog: Some(self.catalog.clone()),
            namespace: self.schema.clone(),
            table: name.to_string(),
        };
        let engine = Arc::new(self.client.clone());
        let table = RemoteTable::new(engine, &self.source, name, schema)?;
        Ok(Some(Arc::new(table)))
    }

    /// Answered from the listing, without looking up each table's columns.
    async fn table_type(&self, name: &str) -> DFResult<Option<TableType>> {
        Ok(self.table_exist(name).then_some(TableType::Base))
    }

    fn table_exist(&self, name: &str) -> bool {
        self.table_names()
            .iter()
            .any(|table| table.eq_ignore_ascii_case(name))
    }
}

/// The names a `SHOW` statement lists, from the first of `columns` its
/// result has (engines name them differently).
async fn shown_names(
    client: &DatabricksSqlClient,
    sql: &str,
    columns: &[&str],
) -> Result<Vec<String>> {
    let batches: Vec<RecordBatch> = client
        .execute(sql, StatementMetrics::default())
        .await?
        .try_collect()
        .await?;
    let mut names = Vec::new();
    for batch in &batches {
        let schema = batch.schema();
        let index = columns
            .iter()
            .find_map(|name| schema.index_of(name).ok())
            .ok_or_else(|| Error::Remote {
                endpoint: client.endpoint(),
                error_class: None,
                sql_state: None,
                message: format!("{sql} returned no column named {}", columns.join(" or ")),
            })?;
        let column = cast(batch.column(index), &DataType::Utf8)
            .map_err(datafusion::error::DataFusionError::from)?;
        names.extend(
            column
                .as_string::<i32>()
                .iter()
                .flatten()
                .map(str::to_string),
        );
    }
    Ok(names)
}
