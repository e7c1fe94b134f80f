//! Unity Catalog catalogs as DataFusion catalogs: `<catalog>.<schema>.<table>`.
//!
//! Nothing is listed or described until DataFusion asks: a query resolves
//! only the tables it names (one `GET /tables/{full_name}` each), and
//! listings (for `SHOW TABLES`, `information_schema`) page through the API
//! ahead of the query that needs them (see [`catalog`](crate::catalog)).
//! Both are cached for the source's `cache_ttl`; a table that does not exist
//! is not cached, so one created since is found.
//!
//! Each table is answered the way [`route`](super::route) decides: a Delta
//! table (or a table of Parquet, CSV or JSON files) read from storage with
//! vended credentials, or a remote table of the compute source, which
//! applies the catalog's filters and masks.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use datafusion::catalog::TableProvider;
use datafusion::datasource::TableType;
use parking_lot::Mutex;

use super::api::{Listed, TableInfo, UnityCatalogApi};
use super::credentials::{Cloud, CredentialVendor, table_store};
use super::files::{FileKind, FileTable};
use super::route::{Route, governed, not_readable};
use super::{Compute, UnityCatalogOptions};
use crate::catalog::{ListedTable, RemoteCatalog, RemoteSchema};
use crate::error::{Error, Result};
use crate::remote::{RemoteTable, RemoteTableName};
use crate::sources::delta::{DeltaTableProvider, ResolvedDeltaTable, TableVersion, parse_location};

/// What every catalog of one Unity Catalog source shares.
pub(crate) struct UnitySource {
    /// The lakefed source's name, for messages and EXPLAIN.
    pub(crate) name: String,
    pub(crate) api: UnityCatalogApi,
    pub(crate) options: UnityCatalogOptions,
    pub(crate) compute: Option<Compute>,
}

impl fmt::Debug for UnitySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnitySource")
            .field("name", &self.name)
            .field("route", &self.options.route)
            .field("compute", &self.compute.as_ref().map(|c| &c.source))
            .finish()
    }
}

/// One Unity Catalog catalog as a catalog of lakefed's.
#[derive(Debug)]
pub struct UnityCatalog {
    source: Arc<UnitySource>,
    catalog: String,
}

impl UnityCatalog {
    pub(crate) fn new(source: Arc<UnitySource>, catalog: &str) -> Self {
        Self {
            source,
            catalog: catalog.to_string(),
        }
    }
}

#[async_trait]
impl RemoteCatalog for UnityCatalog {
    async fn schema_names(&self) -> Result<Vec<String>> {
        self.source.api.schema_names(&self.catalog).await
    }

    fn schema(&self, name: &str) -> Arc<dyn RemoteSchema> {
        Arc::new(UnitySchema {
            source: Arc::clone(&self.source),
            catalog: self.catalog.clone(),
            schema: name.to_string(),
            tables: Mutex::new(HashMap::new()),
        })
    }
}

/// One Unity Catalog schema.
#[derive(Debug)]
pub struct UnitySchema {
    source: Arc<UnitySource>,
    catalog: String,
    schema: String,
    tables: Mutex<HashMap<String, Resolved>>,
}

/// A table resolved at an instant.
type Resolved = (Instant, Answer);

/// How a table is answered.
#[derive(Clone, Debug)]
enum Answer {
    /// A Delta table read from storage: resolved again (its log read) by
    /// every query.
    Delta(Arc<DeltaTableProvider>),
    /// A file table read from storage (listed by every scan), or the
    /// compute source's table.
    Table(Arc<dyn TableProvider>),
}

impl UnitySchema {
    fn cached(&self, name: &str) -> Option<Answer> {
        let tables = self.tables.lock();
        tables
            .get(name)
            .filter(|(at, _)| at.elapsed() < self.source.options.cache_ttl)
            .map(|(_, answer)| answer.clone())
    }

    /// The table `info` describes, answered the way its route says.
    async fn resolve(&self, info: TableInfo) -> Result<Answer> {
        let route = self.source.options.route;
        if route == Route::Compute {
            let reason = "the source's route is \"compute\"";
            return self.compute_table(info, reason).await.map(Answer::Table);
        }
        let reason = match governed(&info).or_else(|| not_readable(&info)) {
            Some(reason) => reason,
            None => match self.direct_table(&info).await? {
                Direct::Table(answer) => return Ok(answer),
                Direct::Refused(reason) => reason,
            },
        };
        match route {
            Route::Direct => Err(self.not_direct(&info, &reason)),
            _ => self.compute_table(info, &reason).await.map(Answer::Table),
        }
    }

    /// The table read straight from storage with vended credentials (a
    /// Delta table, or one of Parquet, CSV or JSON files), or why Unity
    /// Catalog did not vend them.
    async fn direct_table(&self, info: &TableInfo) -> Result<Direct> {
        let location = info.storage_location.as_deref().unwrap_or_default();
        let table_id = info.table_id.as_deref().unwrap_or_default();
        let url = parse_location(location)?;
        let full_name = self.full_name(&info.name);
        let cloud = Cloud::of(&url).map_err(Error::InvalidArgument)?;
        let vendor = Arc::new(CredentialVendor::new(
            self.source.api.clone(),
            table_id,
            &full_name,
            cloud,
        ));
        // Asked now, so that a refusal routes the table instead of failing
        // its scan. Only a bad token is an error: compute may still answer
        // whatever else kept the catalog from vending.
        let credentials = match vendor.credentials().await {
            Ok(credentials) => credentials,
            Err(err) if is_unauthenticated(&err) => return Err(err),
            Err(err) => {
                let code = match &err {
                    Error::Remote {
                        error_class: Some(code),
                        ..
                    } => format!(" ({code})"),
                    _ => String::new(),
                };
                let reason = format!("Unity Catalog did not vend its credentials{code}: {err}");
                return Ok(Direct::Refused(reason));
            }
        };
        if !cloud.is_vended_in(&credentials) {
            return Ok(Direct::Refused(vendor.not_vended(cloud).to_string()));
        }
        let store = table_store(&url, &self.source.options.storage, Arc::clone(&vendor))?;
        let key = store_key(&self.source.api.identity_key(), table_id);
        let format = info.data_source_format.as_deref().unwrap_or_default();
        if let Some(kind) = FileKind::of(format) {
            let table = FileTable::try_new(kind, info, &url, store, &key)?;
            return Ok(Direct::Table(Answer::Table(Arc::new(table))));
        }
        // Writes ask the catalog for READ_WRITE credentials first: it
        // decides which tables take writes from outside (Databricks: only
        // EXTERNAL ones).
        let table = DeltaTableProvider::try_open_in(&url, store, &key, TableVersion::Latest)
            .await?
            .writable_after(vendor);
        Ok(Direct::Table(Answer::Delta(Arc::new(table))))
    }

    /// The table as the compute source answers it, under its Unity Catalog
    /// name; `reason` says why it is not read from storage.
    async fn compute_table(&self, info: TableInfo, reason: &str) -> Result<Arc<dyn TableProvider>> {
        let Some(compute) = &self.source.compute else {
            return Err(Error::InvalidArgument(format!(
                "Unity Catalog table {} must be answered by a compute source ({reason}), and \
                 source '{source}' has none: set `compute = \"<name of a databricks_sql or \
                 spark_connect source>\"` in [sources.{source}] (in Rust: \
                 UnityCatalogOptions::compute)",
                self.full_name(&info.name),
                source = self.source.name,
            )));
        };
        let name = RemoteTableName {
            catalog: Some(self.catalog.clone()),
            namespace: self.schema.clone(),
            table: info.name.clone(),
        };
        let label = format!("{} via {}", self.source.name, compute.source);
        let engine = Arc::clone(&compute.engine);
        let table = if info.columns.is_empty() {
            // No columns given: the engine describes the table.
            RemoteTable::try_new(engine, &label, name).await?
        } else {
            RemoteTable::new(engine, &label, name, info.schema()?)?
        };
        Ok(Arc::new(table))
    }

    fn not_direct(&self, info: &TableInfo, reason: &str) -> Error {
        Error::InvalidArgument(format!(
            "Unity Catalog table {} cannot be read from storage: {reason}; source '{}' has \
             route = \"direct\" (use \"auto\" with `compute = \"<name of a databricks_sql or \
             spark_connect source>\"` to have compute answer such tables)",
            self.full_name(&info.name),
            self.source.name,
        ))
    }

    fn full_name(&self, table: &str) -> String {
        format!("{}.{}.{table}", self.catalog, self.schema)
    }
}

/// How a table is read from storage, or why it is not.
enum Direct {
    Table(Answer),
    Refused(String),
}

/// Whether `err` says the catalog did not accept the source's token.
fn is_unauthenticated(err: &Error) -> bool {
    matches!(err, Error::Remote { error_class: Some(code), .. }
        if code == "UNAUTHENTICATED" || code == "401")
}

/// A DNS label naming the store of table `table_id` as read by the client
/// `identity`: the same table resolved again reuses its store.
fn store_key(identity: &str, table_id: &str) -> String {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut hasher = DefaultHasher::new();
    (identity, table_id).hash(&mut hasher);
    format!("t{:016x}", hasher.finish())
}

#[async_trait]
impl RemoteSchema for UnitySchema {
    async fn tables(&self) -> Result<Vec<ListedTable>> {
        let listed = self.source.api.tables(&self.catalog, &self.schema).await?;
        Ok(listed.into_iter().map(listed_table).collect())
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        let (answer, opened) = match self.cached(name) {
            Some(answer) => (answer, false),
            None => {
                let api = &self.source.api;
                let Some(info) = api.table(&self.catalog, &self.schema, name).await? else {
                    return Ok(None);
                };
                let answer = self.resolve(info).await?;
                let fresh = (Instant::now(), answer.clone());
                self.tables.lock().insert(name.to_string(), fresh);
                (answer, true)
            }
        };
        Ok(Some(match answer {
            Answer::Delta(table) if opened => Arc::new(ResolvedDeltaTable::opened(table)),
            Answer::Delta(table) => Arc::new(ResolvedDeltaTable::refreshed(table).await?),
            Answer::Table(table) => table,
        }))
    }
}

/// A table as Unity Catalog lists it, typed as DataFusion shows it.
fn listed_table(table: Listed) -> ListedTable {
    let table_type = match table.table_type.as_deref() {
        Some("VIEW" | "MATERIALIZED_VIEW" | "METRIC_VIEW") => TableType::View,
        _ => TableType::Base,
    };
    ListedTable {
        name: table.name,
        table_type,
    }
}
