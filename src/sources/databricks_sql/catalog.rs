//! A Unity Catalog catalog, queried through a SQL warehouse, as a DataFusion
//! catalog: `<source>.<schema>.<table>`.
//!
//! Listing and table schemas come from the workspace's Unity Catalog API
//! (`/api/2.1/unity-catalog/schemas`, `/tables`, `/tables/{full_name}`), so
//! planning never waits for a warehouse to start (a cold one takes
//! minutes); only the query itself runs on the warehouse. Listings page
//! through `page_token` and are kept as [`catalog`](crate::catalog) keeps
//! them; a table's columns are looked up each time a query names it.
//! DataFusion folds unquoted names to lower case, as Unity Catalog stores
//! them.
//!
//! Where the Unity Catalog API refuses (a catalog it does not govern, such
//! as `hive_metastore`, or an identity without access to the API) the
//! warehouse answers instead: `SHOW SCHEMAS`, `SHOW TABLES` and the result
//! manifest of the table's `SELECT ... LIMIT 0`.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::catalog::TableProvider;
use futures::TryStreamExt;

use super::client::{DatabricksSqlClient, StatementMetrics};
use crate::catalog::{ListedTable, RemoteCatalog, RemoteSchema};
use crate::error::{Error, Result};
use crate::remote::sql::{object_reference, quote_identifier};
use crate::remote::{RemoteTable, RemoteTableName};
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
}

impl DatabricksCatalog {
    /// The Unity Catalog catalog `catalog` of `client`'s workspace; `source`
    /// names it in EXPLAIN output.
    pub fn new(client: DatabricksSqlClient, source: &str, catalog: &str) -> Self {
        Self {
            client,
            source: source.to_string(),
            catalog: catalog.to_string(),
        }
    }
}

#[async_trait]
impl RemoteCatalog for DatabricksCatalog {
    async fn schema_names(&self) -> Result<Vec<String>> {
        let api = UnityCatalogApi::new(self.client.workspace().clone());
        match api.schema_names(&self.catalog).await {
            Err(err) if ask_the_warehouse(&err) => {
                let sql = format!("SHOW SCHEMAS IN {}", show_target(&[&self.catalog])?);
                shown_names(&self.client, &sql, &["databaseName", "namespace"]).await
            }
            listed => listed,
        }
    }

    fn schema(&self, name: &str) -> Arc<dyn RemoteSchema> {
        Arc::new(DatabricksSchema {
            client: self.client.clone(),
            source: self.source.clone(),
            catalog: self.catalog.clone(),
            schema: name.to_string(),
        })
    }
}

/// One Unity Catalog schema, queried on a SQL warehouse.
#[derive(Debug)]
pub struct DatabricksSchema {
    client: DatabricksSqlClient,
    source: String,
    catalog: String,
    schema: String,
}

impl DatabricksSchema {
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
impl RemoteSchema for DatabricksSchema {
    async fn tables(&self) -> Result<Vec<ListedTable>> {
        let api = UnityCatalogApi::new(self.client.workspace().clone());
        let names = match api.table_names(&self.catalog, &self.schema).await {
            Err(err) if ask_the_warehouse(&err) => {
                let target = show_target(&[&self.catalog, &self.schema])?;
                let sql = format!("SHOW TABLES IN {target}");
                shown_names(&self.client, &sql, &["tableName"]).await
            }
            listed => listed,
        }?;
        Ok(names.into_iter().map(ListedTable::base).collect())
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
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
