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

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::catalog::{CatalogProvider, SchemaProvider, TableProvider};
use datafusion::datasource::TableType;
use datafusion::error::Result as DFResult;
use parking_lot::Mutex;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;

use super::client::{ColumnInfo, DatabricksSqlClient, columns_schema};
use crate::error::{Error, Result};
use crate::remote::{RemoteTable, RemoteTableName};
use crate::runtime::block_on_io;

/// Unity Catalog error codes meaning "no such table or schema".
const NOT_FOUND: [&str; 5] = [
    "TABLE_DOES_NOT_EXIST",
    "SCHEMA_DOES_NOT_EXIST",
    "CATALOG_DOES_NOT_EXIST",
    "NOT_FOUND",
    "404",
];

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
        list(
            self.client.clone(),
            "api/2.1/unity-catalog/schemas",
            vec![("catalog_name", self.catalog.clone())],
        )
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

/// The answer of `GET /tables/{full_name}` (the fields lakefed reads).
#[derive(Deserialize)]
struct TableInfo {
    #[serde(default)]
    columns: Vec<ColumnInfo>,
}

impl DatabricksSchema {
    fn listing(&self) -> impl Future<Output = Result<Vec<String>>> + Send + 'static {
        list(
            self.client.clone(),
            "api/2.1/unity-catalog/tables",
            vec![
                ("catalog_name", self.catalog.clone()),
                ("schema_name", self.schema.clone()),
                // Names only: columns are read when a query names a table.
                ("omit_columns", "true".to_string()),
                ("omit_properties", "true".to_string()),
            ],
        )
    }

    /// The table's columns as Unity Catalog describes them; `None` if there
    /// is no such table.
    async fn columns(&self, table: &str) -> Result<Option<Vec<ColumnInfo>>> {
        let full_name = [self.catalog.as_str(), &self.schema, table]
            .iter()
            .map(|part| utf8_percent_encode(part, NON_ALPHANUMERIC).to_string())
            .collect::<Vec<_>>()
            .join(".");
        let path = format!("api/2.1/unity-catalog/tables/{full_name}");
        match self.client.workspace().get::<TableInfo>(&path, &[]).await {
            Ok(info) => Ok(Some(info.columns)),
            Err(Error::Remote {
                error_class: Some(code),
                ..
            }) if NOT_FOUND.contains(&code.as_str()) => Ok(None),
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
        let Some(columns) = self.columns(name).await? else {
            return Ok(None);
        };
        let schema = Arc::new(columns_schema(columns)?);
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

/// One page of a Unity Catalog listing (of schemas or of tables).
#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    schemas: Vec<Named>,
    #[serde(default)]
    tables: Vec<Named>,
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct Named {
    name: String,
}

/// The names of a paged Unity Catalog listing, every page.
async fn list(
    client: DatabricksSqlClient,
    path: &'static str,
    query: Vec<(&'static str, String)>,
) -> Result<Vec<String>> {
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut page_query: Vec<(&str, &str)> =
            query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        if let Some(token) = &token {
            page_query.push(("page_token", token));
        }
        let page: Page = client.workspace().get(path, &page_query).await?;
        let entries = page.schemas.into_iter().chain(page.tables);
        names.extend(entries.map(|entry| entry.name));
        match page.next_page_token.filter(|t| !t.is_empty()) {
            Some(next) if token.as_ref() == Some(&next) => {
                return Err(Error::Remote {
                    endpoint: client.endpoint(),
                    error_class: None,
                    sql_state: None,
                    message: format!("{path} returned the same page token twice"),
                });
            }
            Some(next) => token = Some(next),
            None => return Ok(names),
        }
    }
}
