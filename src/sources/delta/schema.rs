//! A directory (or object store prefix) of Delta tables as one schema (of
//! the shared [`catalog`](crate::catalog) mechanism): every child that holds
//! a `_delta_log` is a table.
//!
//! Tables are discovered lazily, through the shared [`catalog`](crate::catalog)
//! mechanism: a query opens only the tables it names, and an opened table is
//! kept and read at its latest version when a query names it.
//! `CREATE TABLE <schema>.<name> AS SELECT ...` writes a new Delta table under
//! the prefix.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::datasource::{MemTable, TableProvider};
use deltalake::DeltaTableBuilder;
use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStore;
use object_store::path::Path;
use parking_lot::RwLock;
use url::Url;

use super::resolved::ResolvedDeltaTable;
use super::storage::{StorageOptions, child_url, redact};
use super::table::{DeltaTableProvider, TableVersion, classify};
use super::write::{SaveMode, write_batches};
use crate::background::block_on;
use crate::catalog::{ListedTable, RemoteSchema};
use crate::error::{Error, Result};

/// How many `_delta_log` probes run at once when listing a schema.
const LISTING_CONCURRENCY: usize = 16;

/// A schema whose tables are the Delta tables directly under one location.
#[derive(Debug)]
pub struct DeltaSchemaProvider {
    root: Url,
    options: StorageOptions,
    store: Arc<dyn ObjectStore>,
    opened: RwLock<HashMap<String, Arc<DeltaTableProvider>>>,
}

impl DeltaSchemaProvider {
    /// A schema over the Delta tables under `root`.
    ///
    /// Nothing is listed or opened here; a missing or unreachable location
    /// shows up when a table is first used.
    pub fn try_new(root: Url, options: StorageOptions) -> Result<Self> {
        let log_store = DeltaTableBuilder::from_url(root.clone())
            .map_err(|err| classify(&redact(&root), err))?
            .with_storage_options(options.to_map())
            .build_storage()
            .map_err(|err| classify(&redact(&root), err))?;
        Ok(Self {
            store: log_store.object_store(None),
            root,
            options,
            opened: RwLock::new(HashMap::new()),
        })
    }

    /// Names of the Delta tables under the root, sorted.
    pub async fn list_tables(&self) -> Result<Vec<String>> {
        list_tables(Arc::clone(&self.store), redact(&self.root)).await
    }

    /// The table `name` as a query resolves it now.
    async fn open(&self, name: &str) -> Result<Option<ResolvedDeltaTable>> {
        let existing = self.opened.read().get(name).cloned();
        if let Some(table) = existing {
            return ResolvedDeltaTable::refreshed(table).await.map(Some);
        }
        if name.contains('/') || name == "." || name == ".." {
            return Ok(None);
        }
        let url = child_url(&self.root, name)?;
        match DeltaTableProvider::try_open(&url, &self.options, TableVersion::Latest).await {
            Ok(table) => {
                let table = Arc::new(table);
                self.opened
                    .write()
                    .insert(name.to_string(), Arc::clone(&table));
                Ok(Some(ResolvedDeltaTable::opened(table)))
            }
            Err(Error::NotATable { .. }) => Ok(None),
            Err(err) => Err(err),
        }
    }

    fn create_from_batches(&self, name: &str, batches: Vec<RecordBatch>) -> Result<()> {
        let location = child_url(&self.root, name)?.to_string();
        let write = write_batches(
            &location,
            &self.options,
            batches,
            &[],
            SaveMode::ErrorIfExists,
        );
        block_on("CREATE TABLE AS into a Delta directory", write)?
    }
}

/// Lists the children of the store's root that contain a `_delta_log`.
async fn list_tables(store: Arc<dyn ObjectStore>, location: String) -> Result<Vec<String>> {
    let listing = store
        .list_with_delimiter(None)
        .await
        .map_err(|err| Error::Storage {
            location: location.clone(),
            message: err.to_string(),
        })?;
    let probes = listing.common_prefixes.into_iter().map(|prefix| {
        let store = Arc::clone(&store);
        async move {
            let log = prefix.clone().join("_delta_log");
            let has_log = store
                .list_with_delimiter(Some(&log))
                .await
                .map(|l| !l.objects.is_empty() || !l.common_prefixes.is_empty())?;
            Ok::<_, object_store::Error>(has_log.then(|| table_name(&prefix)).flatten())
        }
    });
    let mut names: Vec<String> = futures::stream::iter(probes)
        .buffer_unordered(LISTING_CONCURRENCY)
        .try_filter_map(|name| async move { Ok(name) })
        .try_collect()
        .await
        .map_err(|err| Error::Storage {
            location,
            message: err.to_string(),
        })?;
    names.sort();
    Ok(names)
}

fn table_name(prefix: &Path) -> Option<String> {
    prefix.filename().map(str::to_string)
}

#[async_trait]
impl RemoteSchema for DeltaSchemaProvider {
    async fn tables(&self) -> Result<Vec<ListedTable>> {
        let names = self.list_tables().await?;
        Ok(names.into_iter().map(ListedTable::base).collect())
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        let table = self.open(name).await?;
        Ok(table.map(|table| Arc::new(table) as Arc<dyn TableProvider>))
    }

    /// Table names are directory names, which are case-sensitive.
    fn case_insensitive(&self) -> bool {
        false
    }

    fn create_table(&self, name: &str, table: Arc<dyn TableProvider>) -> Result<()> {
        let Some(memory) = table.downcast_ref::<MemTable>() else {
            return Err(Error::InvalidArgument(format!(
                "a Delta schema only takes new tables from CREATE TABLE {name} AS SELECT ..."
            )));
        };
        let mut batches = Vec::new();
        for partition in &memory.batches {
            let partition = partition.try_read().map_err(|_| {
                Error::InvalidArgument(format!("the rows for new table '{name}' are in use"))
            })?;
            batches.extend(partition.iter().cloned());
        }
        self.create_from_batches(name, batches)
    }

    fn drop_table(&self, name: &str) -> Result<()> {
        Err(Error::InvalidArgument(format!(
            "cannot drop '{name}': lakefed never deletes Delta table data; remove it with the storage's own tools"
        )))
    }
}
