//! A Spark catalog as a catalog of lakefed's ([`crate::catalog`]).
//!
//! Names map one to one: the DataFusion catalog `<source>` is one Spark
//! catalog (the session's current one unless configured), each Spark
//! namespace (database) is a DataFusion schema, each Spark table or view a
//! DataFusion table: `<source>.<namespace>.<table>`. DataFusion folds unquoted
//! identifiers to lower case and Spark resolves names case-insensitively, so
//! `sc.Sales.Orders` and `sc.sales.orders` reach the same Spark table; quote
//! a name in DataFusion (`"my.db"`) to keep dots or case.
//!
//! Listings (for `information_schema`, `SHOW TABLES`) and tables are
//! resolved through the shared [`catalog`](crate::catalog) mechanism: a
//! table's schema is looked up each time a query names it, so a query always
//! plans against the table as it is now.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::catalog::TableProvider;

use super::client::SparkConnectClient;
use crate::catalog::{ListedTable, RemoteCatalog, RemoteSchema};
use crate::error::{Error, Result};
use crate::remote::sql::{object_reference, quote_identifier};
use crate::remote::{RemoteTable, RemoteTableName};

/// Spark error classes meaning "no such table" rather than a failure.
const NOT_FOUND: [&str; 2] = ["TABLE_OR_VIEW_NOT_FOUND", "SCHEMA_NOT_FOUND"];

/// The tables of one Spark catalog, reached through a Spark Connect server.
#[derive(Debug)]
pub struct SparkCatalog {
    client: SparkConnectClient,
    source: String,
    catalog: Option<String>,
}

impl SparkCatalog {
    /// The catalog `catalog` (the session's current catalog when `None`) of
    /// the server `client` talks to; `source` names it in EXPLAIN output.
    pub fn new(client: SparkConnectClient, source: &str, catalog: Option<String>) -> Self {
        Self {
            client,
            source: source.to_string(),
            catalog,
        }
    }
}

#[async_trait]
impl RemoteCatalog for SparkCatalog {
    async fn schema_names(&self) -> Result<Vec<String>> {
        list_namespaces(self.client.clone(), self.catalog.clone()).await
    }

    fn schema(&self, name: &str) -> Arc<dyn RemoteSchema> {
        Arc::new(SparkSchema {
            client: self.client.clone(),
            source: self.source.clone(),
            catalog: self.catalog.clone(),
            namespace: name.to_string(),
        })
    }
}

/// One Spark namespace as a schema.
#[derive(Debug)]
pub struct SparkSchema {
    client: SparkConnectClient,
    source: String,
    catalog: Option<String>,
    namespace: String,
}

impl SparkSchema {
    fn table_name(&self, table: &str) -> RemoteTableName {
        RemoteTableName {
            catalog: self.catalog.clone(),
            namespace: self.namespace.clone(),
            table: table.to_string(),
        }
    }
}

#[async_trait]
impl RemoteSchema for SparkSchema {
    /// The tables and views of the namespace (temporary views, which belong
    /// to other sessions, left out).
    async fn tables(&self) -> Result<Vec<ListedTable>> {
        let names = list_tables(
            self.client.clone(),
            self.catalog.clone(),
            self.namespace.clone(),
        )
        .await?;
        Ok(names.into_iter().map(ListedTable::base).collect())
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        let engine = Arc::new(self.client.clone());
        match RemoteTable::try_new(engine, &self.source, self.table_name(name)).await {
            Ok(table) => Ok(Some(Arc::new(table))),
            Err(Error::Remote {
                error_class: Some(class),
                ..
            }) if NOT_FOUND.contains(&class.as_str()) => Ok(None),
            Err(err) => Err(err),
        }
    }
}

async fn list_namespaces(
    client: SparkConnectClient,
    catalog: Option<String>,
) -> Result<Vec<String>> {
    let sql = match &catalog {
        // `SHOW NAMESPACES IN` takes no `IDENTIFIER` clause.
        Some(catalog) if catalog.contains('$') => {
            return Err(Error::InvalidArgument(format!(
                "cannot list the namespaces of Spark catalog '{catalog}': \
                 a catalog name holding '$' cannot be written safely in Spark SQL"
            )));
        }
        Some(catalog) => format!("SHOW NAMESPACES IN {}", quote_identifier(catalog)),
        None => "SHOW NAMESPACES".to_string(),
    };
    let batches = client.collect(&sql).await?;
    // Spark names the column `namespace`, Sail `name`: both put it first.
    let first_column = match batches.first() {
        Some(batch) if batch.num_columns() > 0 => batch.schema().field(0).name().clone(),
        _ => return Ok(Vec::new()),
    };
    Ok(string_column(&client, &batches, &first_column)?
        .into_iter()
        .flatten()
        .collect())
}

async fn list_tables(
    client: SparkConnectClient,
    catalog: Option<String>,
    namespace: String,
) -> Result<Vec<String>> {
    let mut parts = Vec::with_capacity(2);
    parts.extend(catalog.as_deref());
    parts.push(namespace.as_str());
    let batches = client
        .collect(&format!("SHOW TABLES IN {}", object_reference(&parts)))
        .await?;
    let names = string_column(&client, &batches, "tableName")?;
    let temporary = bool_column(&batches, "isTemporary");
    Ok(names
        .into_iter()
        .enumerate()
        .filter(|(row, _)| !temporary.get(*row).copied().unwrap_or(false))
        .filter_map(|(_, name)| name)
        .collect())
}

/// The values of a string column of a small result, one per row.
fn string_column(
    client: &SparkConnectClient,
    batches: &[RecordBatch],
    column: &str,
) -> Result<Vec<Option<String>>> {
    let mut values = Vec::new();
    for batch in batches {
        let array = batch.column_by_name(column).ok_or_else(|| {
            client.protocol_error(&format!("the listing has no column '{column}'"))
        })?;
        let array = cast(array, &DataType::Utf8).map_err(|err| {
            client.protocol_error(&format!(
                "the listing's column '{column}' is not text: {err}"
            ))
        })?;
        values.extend(
            array
                .as_string::<i32>()
                .iter()
                .map(|v| v.map(str::to_string)),
        );
    }
    Ok(values)
}

/// The values of a boolean column of a small result, one per row (empty
/// when the column is absent); null reads as false.
fn bool_column(batches: &[RecordBatch], column: &str) -> Vec<bool> {
    batches
        .iter()
        .filter_map(|batch| batch.column_by_name(column)?.as_boolean_opt().cloned())
        .flat_map(|array| {
            (0..array.len())
                .map(|i| array.is_valid(i) && array.value(i))
                .collect::<Vec<_>>()
        })
        .collect()
}
