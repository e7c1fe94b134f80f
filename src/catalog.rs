//! One catalog mechanism for every source whose tables live elsewhere:
//! Spark Connect and Databricks SQL catalogs, Unity Catalog catalogs and
//! directories of Delta tables.
//!
//! A source says what it holds, asynchronously ([`RemoteCatalog`],
//! [`RemoteSchema`]); [`LazyCatalog`] and [`LazySchema`] answer DataFusion
//! from that:
//! - A table a query names is resolved in DataFusion's asynchronous
//!   [`SchemaProvider::table`], while the query is planned; nothing else is.
//! - Listings (schema names, table names and types), which DataFusion asks
//!   for synchronously (`information_schema`, `SHOW TABLES`), are kept for a
//!   TTL and fetched ahead of the query: the session's query planner sees a
//!   plan that reads `information_schema` and first refreshes the stale
//!   listings of every lazy catalog and schema of the session, concurrently.
//!   So no runtime thread waits on the network inside a synchronous
//!   callback, and a source that cannot be listed fails the query with its
//!   own error instead of listing as empty.
//! - A synchronous question asked outside a query (an embedder calling
//!   [`CatalogProvider::schema_names`] directly, `ctx.table_exist`) is
//!   answered from the cache while it is fresh; else it is fetched there,
//!   on the calling thread (see [`block_on`]: a
//!   multi-threaded runtime is needed).
//!
//! Two synchronous DataFusion calls still do I/O, because DataFusion offers
//! no asynchronous form of them: a table function's arguments become a table
//! in `TableFunctionImpl::call` (`delta_scan`), and `CREATE TABLE .. AS`
//! hands its rows to `SchemaProvider::register_table` (a Delta directory).

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use datafusion::catalog::information_schema::INFORMATION_SCHEMA;
use datafusion::catalog::{CatalogProvider, SchemaProvider, Session, TableProvider};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::datasource::TableType;
use datafusion::error::Result as DFResult;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::context::QueryPlanner;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;
use futures::future::try_join_all;
use futures::{StreamExt, TryStreamExt};
use parking_lot::Mutex;

use crate::background::block_on;
use crate::error::{Error, Result};

/// How long the listings of Spark Connect and Databricks SQL catalogs and of
/// Delta directories are kept.
pub(crate) const LISTING_TTL: Duration = Duration::from_secs(30);

/// How many schema listings of one catalog are fetched at once.
const PREFETCH_CONCURRENCY: usize = 8;

/// The `information_schema` tables whose rows come from listings (the
/// others list settings and functions).
const LISTING_TABLES: [&str; 4] = ["schemata", "tables", "views", "columns"];

/// A table as a source's listing names it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ListedTable {
    pub(crate) name: String,
    pub(crate) table_type: TableType,
}

impl ListedTable {
    /// A base table (what a listing that gives no types lists).
    pub(crate) fn base(name: String) -> Self {
        Self {
            name,
            table_type: TableType::Base,
        }
    }
}

/// A catalog of schemas held by a remote source.
#[async_trait]
pub(crate) trait RemoteCatalog: fmt::Debug + Send + Sync + 'static {
    /// The catalog's schemas, as the source lists them now.
    async fn schema_names(&self) -> Result<Vec<String>>;

    /// The schema `name`; whether it exists shows when its tables are used.
    fn schema(&self, name: &str) -> Arc<dyn RemoteSchema>;
}

/// A schema of tables held by a remote source.
#[async_trait]
pub(crate) trait RemoteSchema: fmt::Debug + Send + Sync + 'static {
    /// The schema's tables, as the source lists them now.
    async fn tables(&self) -> Result<Vec<ListedTable>>;

    /// The table `name` as it is now, or `None` if there is none.
    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>>;

    /// Whether the source finds tables whatever the case of their names
    /// (Spark and Unity Catalog do; a file system does not).
    fn case_insensitive(&self) -> bool {
        true
    }

    /// Creates table `name` from `table` (`CREATE TABLE .. AS`).
    fn create_table(&self, name: &str, _table: Arc<dyn TableProvider>) -> Result<()> {
        Err(Error::InvalidArgument(format!(
            "cannot create table '{name}' here: create it in the source itself"
        )))
    }

    /// Drops table `name` (`DROP TABLE`).
    fn drop_table(&self, name: &str) -> Result<()> {
        Err(Error::InvalidArgument(format!(
            "cannot drop table '{name}' here: drop it in the source itself"
        )))
    }
}

/// A listing fetched over the network, kept for a while.
struct Listing<T> {
    ttl: Duration,
    value: Mutex<Option<(Instant, T)>>,
}

impl<T: Clone + Send + 'static> Listing<T> {
    fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            value: Mutex::new(None),
        }
    }

    fn fresh(&self) -> Option<T> {
        let value = self.value.lock();
        value
            .as_ref()
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, value)| value.clone())
    }

    fn forget(&self) {
        *self.value.lock() = None;
    }

    /// The listing, fetched if none is cached or it is older than the TTL.
    async fn get(&self, fetch: impl Future<Output = Result<T>>) -> Result<T> {
        if let Some(value) = self.fresh() {
            return Ok(value);
        }
        let value = fetch.await?;
        *self.value.lock() = Some((Instant::now(), value.clone()));
        Ok(value)
    }

    /// For DataFusion's synchronous calls: the cached listing, fresh when
    /// the query asking was prefetched; else fetched now on the calling
    /// thread. These calls have no error channel: a listing that cannot be
    /// fetched (or not on a current-thread runtime) is the stale one, or
    /// empty if there is none.
    fn cached_or_fetch(&self, fetch: impl Future<Output = Result<T>>) -> Option<T> {
        if let Some(value) = self.fresh() {
            return Some(value);
        }
        match block_on("listing a catalog outside a query", fetch).and_then(|fetched| fetched) {
            Ok(value) => {
                *self.value.lock() = Some((Instant::now(), value.clone()));
                Some(value)
            }
            Err(_) => self.value.lock().as_ref().map(|(_, stale)| stale.clone()),
        }
    }
}

/// A remote catalog as a DataFusion catalog.
pub(crate) struct LazyCatalog {
    remote: Arc<dyn RemoteCatalog>,
    ttl: Duration,
    schema_names: Listing<Vec<String>>,
    schemas: Mutex<HashMap<String, Arc<LazySchema>>>,
}

impl fmt::Debug for LazyCatalog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LazyCatalog")
            .field("remote", &self.remote)
            .finish()
    }
}

impl LazyCatalog {
    /// `remote`, with listings kept for `ttl`.
    pub(crate) fn new(remote: impl RemoteCatalog, ttl: Duration) -> Self {
        Self {
            remote: Arc::new(remote),
            ttl,
            schema_names: Listing::new(ttl),
            schemas: Mutex::new(HashMap::new()),
        }
    }

    async fn listed_schemas(&self) -> Result<Vec<String>> {
        self.schema_names.get(self.remote.schema_names()).await
    }

    fn lazy_schema(&self, name: &str) -> Arc<LazySchema> {
        let mut schemas = self.schemas.lock();
        let schema = schemas.entry(name.to_string()).or_insert_with(|| {
            Arc::new(LazySchema::new_shared(self.remote.schema(name), self.ttl))
        });
        Arc::clone(schema)
    }
}

impl CatalogProvider for LazyCatalog {
    fn schema_names(&self) -> Vec<String> {
        let remote = Arc::clone(&self.remote);
        self.schema_names
            .cached_or_fetch(async move { remote.schema_names().await })
            .unwrap_or_default()
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        Some(self.lazy_schema(name))
    }
}

/// A remote schema as a DataFusion schema.
pub(crate) struct LazySchema {
    remote: Arc<dyn RemoteSchema>,
    tables: Listing<Vec<ListedTable>>,
}

impl fmt::Debug for LazySchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LazySchema")
            .field("remote", &self.remote)
            .finish()
    }
}

impl LazySchema {
    /// `remote`, with its listing kept for `ttl`.
    pub(crate) fn new(remote: impl RemoteSchema, ttl: Duration) -> Self {
        Self::new_shared(Arc::new(remote), ttl)
    }

    fn new_shared(remote: Arc<dyn RemoteSchema>, ttl: Duration) -> Self {
        Self {
            remote,
            tables: Listing::new(ttl),
        }
    }

    async fn listed_tables(&self) -> Result<Vec<ListedTable>> {
        self.tables.get(self.remote.tables()).await
    }

    fn cached_or_fetched_tables(&self) -> Vec<ListedTable> {
        let remote = Arc::clone(&self.remote);
        self.tables
            .cached_or_fetch(async move { remote.tables().await })
            .unwrap_or_default()
    }

    fn find<'a>(&self, tables: &'a [ListedTable], name: &str) -> Option<&'a ListedTable> {
        let case_insensitive = self.remote.case_insensitive();
        tables.iter().find(|table| match case_insensitive {
            true => table.name.eq_ignore_ascii_case(name),
            false => table.name == name,
        })
    }
}

#[async_trait]
impl SchemaProvider for LazySchema {
    fn table_names(&self) -> Vec<String> {
        self.cached_or_fetched_tables()
            .into_iter()
            .map(|table| table.name)
            .collect()
    }

    async fn table(&self, name: &str) -> DFResult<Option<Arc<dyn TableProvider>>> {
        Ok(self.remote.table(name).await?)
    }

    /// Answered from the listing, without resolving the table:
    /// `information_schema.tables` asks this of every table.
    async fn table_type(&self, name: &str) -> DFResult<Option<TableType>> {
        let tables = self.listed_tables().await?;
        Ok(self.find(&tables, name).map(|table| table.table_type))
    }

    fn table_exist(&self, name: &str) -> bool {
        self.find(&self.cached_or_fetched_tables(), name).is_some()
    }

    fn register_table(
        &self,
        name: String,
        table: Arc<dyn TableProvider>,
    ) -> DFResult<Option<Arc<dyn TableProvider>>> {
        self.remote.create_table(&name, table)?;
        self.tables.forget();
        Ok(None)
    }

    fn deregister_table(&self, name: &str) -> DFResult<Option<Arc<dyn TableProvider>>> {
        self.remote.drop_table(name)?;
        self.tables.forget();
        Ok(None)
    }
}

/// A catalog or schema whose listings can be fetched ahead of a query.
#[async_trait]
trait Prefetch: Send + Sync {
    /// Refreshes the listings older than their TTL.
    async fn prefetch(&self) -> Result<()>;
}

#[async_trait]
impl Prefetch for LazySchema {
    async fn prefetch(&self) -> Result<()> {
        self.listed_tables().await.map(drop)
    }
}

#[async_trait]
impl Prefetch for LazyCatalog {
    async fn prefetch(&self) -> Result<()> {
        let names = self.listed_schemas().await?;
        // DataFusion lists no source's own `information_schema`.
        let schemas: Vec<_> = names
            .iter()
            .filter(|name| *name != INFORMATION_SCHEMA)
            .map(|name| self.lazy_schema(name))
            .collect();
        let prefetches = schemas
            .into_iter()
            .map(|schema| async move { schema.prefetch().await });
        futures::stream::iter(prefetches)
            .buffer_unordered(PREFETCH_CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await
            .map(drop)
    }
}

/// The lazy catalogs and schemas of one session, by registered name (a
/// catalog, or `catalog.schema` for a schema), kept in its config.
#[derive(Default)]
struct SessionListings(Mutex<HashMap<String, Arc<dyn Prefetch>>>);

impl SessionListings {
    /// Refreshes the stale listings of every lazy catalog and schema whose
    /// catalog is still registered in `session`.
    async fn prefetch(&self, session: &dyn Session) -> Result<()> {
        let registered: Vec<(String, Arc<dyn Prefetch>)> = self
            .0
            .lock()
            .iter()
            .map(|(name, listing)| (name.clone(), Arc::clone(listing)))
            .collect();
        let catalogs = session
            .as_any()
            .downcast_ref::<datafusion::execution::SessionState>()
            .map(|state| state.catalog_list().catalog_names());
        let prefetches = registered
            .iter()
            .filter(|(name, _)| {
                let catalog = name.split('.').next().unwrap_or_default();
                catalogs
                    .as_ref()
                    .is_none_or(|names| names.iter().any(|c| c == catalog))
            })
            .map(|(name, listing)| async move {
                listing.prefetch().await.map_err(|err| {
                    Error::InvalidArgument(format!(
                        "cannot list the tables of '{name}' for information_schema: {err}"
                    ))
                })
            });
        try_join_all(prefetches).await.map(drop)
    }
}

/// Registers `catalog` as catalog `name` of `ctx`.
pub(crate) fn register_catalog(ctx: &SessionContext, name: &str, catalog: LazyCatalog) {
    let catalog = Arc::new(catalog);
    ctx.register_catalog(name, Arc::clone(&catalog) as Arc<dyn CatalogProvider>);
    listings(ctx).0.lock().insert(name.to_string(), catalog);
}

/// Registers `schema` as schema `name` of `ctx`'s default catalog.
pub(crate) fn register_schema(ctx: &SessionContext, name: &str, schema: LazySchema) -> Result<()> {
    let catalog_name = ctx
        .state()
        .config()
        .options()
        .catalog
        .default_catalog
        .clone();
    let catalog = ctx.catalog(&catalog_name).ok_or_else(|| {
        Error::InvalidArgument(format!("the default catalog '{catalog_name}' is missing"))
    })?;
    let schema = Arc::new(schema);
    catalog.register_schema(name, Arc::clone(&schema) as Arc<dyn SchemaProvider>)?;
    let key = format!("{catalog_name}.{name}");
    listings(ctx).0.lock().insert(key, schema);
    Ok(())
}

/// The session's listings, set up with the planner that prefetches them
/// the first time.
fn listings(ctx: &SessionContext) -> Arc<SessionListings> {
    let state = ctx.state_ref();
    let mut state = state.write();
    if let Some(listings) = state.config().get_extension::<SessionListings>() {
        return listings;
    }
    let listings = Arc::new(SessionListings::default());
    state.config_mut().set_extension(Arc::clone(&listings));
    let planner = Arc::new(PrefetchingPlanner {
        inner: Arc::clone(state.query_planner()),
        listings: Arc::clone(&listings),
    });
    let session_id = state.session_id().to_string();
    *state = SessionStateBuilder::new_from_existing(state.clone())
        .with_session_id(session_id)
        .with_query_planner(planner)
        .build();
    listings
}

/// A [`QueryPlanner`] that, before planning with `inner`, refreshes the
/// listings a plan reading `information_schema` will ask for.
struct PrefetchingPlanner {
    inner: Arc<dyn QueryPlanner + Send + Sync>,
    listings: Arc<SessionListings>,
}

impl fmt::Debug for PrefetchingPlanner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrefetchingPlanner")
            .field("inner", &self.inner)
            .finish()
    }
}

#[async_trait]
impl QueryPlanner for PrefetchingPlanner {
    async fn create_physical_plan(
        &self,
        logical_plan: &LogicalPlan,
        session: &dyn Session,
    ) -> DFResult<Arc<dyn ExecutionPlan>> {
        let default_schema = &session.config_options().catalog.default_schema;
        if reads_listings(logical_plan, default_schema) {
            self.listings.prefetch(session).await?;
        }
        self.inner.create_physical_plan(logical_plan, session).await
    }
}

/// Whether `plan` (or a subquery of it) scans an `information_schema`
/// table made of listings; `default_schema` is the schema of bare names.
fn reads_listings(plan: &LogicalPlan, default_schema: &str) -> bool {
    let mut found = false;
    // The closure never fails.
    let _ = plan.apply_with_subqueries(|node| {
        if let LogicalPlan::TableScan(scan) = node
            && scan.table_name.schema().unwrap_or(default_schema) == INFORMATION_SCHEMA
            && LISTING_TABLES.contains(&scan.table_name.table())
        {
            found = true;
            return Ok(TreeNodeRecursion::Stop);
        }
        Ok(TreeNodeRecursion::Continue)
    });
    found
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use datafusion::arrow::array::{AsArray, Int32Array, RecordBatch};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::datasource::MemTable;

    use super::*;

    /// A schema of in-memory tables that records where it was listed.
    #[derive(Debug, Default)]
    struct Recorded {
        tables: Vec<&'static str>,
        fail: bool,
        listings: AtomicUsize,
    }

    #[async_trait]
    impl RemoteSchema for Arc<Recorded> {
        async fn tables(&self) -> Result<Vec<ListedTable>> {
            self.listings.fetch_add(1, Ordering::SeqCst);
            if self.fail {
                return Err(Error::InvalidArgument("the server is gone".to_string()));
            }
            Ok(self
                .tables
                .iter()
                .map(|t| ListedTable::base(t.to_string()))
                .collect())
        }

        async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
            if !self.tables.contains(&name) {
                return Ok(None);
            }
            let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int32, false)]));
            let column = Arc::new(Int32Array::from(vec![7]));
            let batch = RecordBatch::try_new(Arc::clone(&schema), vec![column]).unwrap();
            Ok(Some(Arc::new(MemTable::try_new(
                schema,
                vec![vec![batch]],
            )?)))
        }
    }

    fn session(remote: &Arc<Recorded>) -> SessionContext {
        let ctx = crate::new_session_context();
        register_schema(
            &ctx,
            "remote",
            LazySchema::new(Arc::clone(remote), LISTING_TTL),
        )
        .unwrap();
        ctx
    }

    async fn listed_tables(ctx: &SessionContext) -> DFResult<Vec<String>> {
        let sql = "SELECT table_name FROM information_schema.tables \
                   WHERE table_schema = 'remote' ORDER BY table_name";
        let batches = ctx.sql(sql).await?.collect().await?;
        Ok(batches
            .iter()
            .flat_map(|batch| {
                let names = batch.column(0).as_string_view_opt().cloned();
                match names {
                    Some(names) => names.iter().flatten().map(str::to_string).collect(),
                    None => batch
                        .column(0)
                        .as_string::<i32>()
                        .iter()
                        .flatten()
                        .map(str::to_string)
                        .collect::<Vec<_>>(),
                }
            })
            .collect())
    }

    /// On a current-thread runtime, where a synchronous callback cannot
    /// fetch a listing, the query still lists: ahead of planning.
    #[tokio::test(flavor = "current_thread")]
    async fn information_schema_lists_ahead_of_the_query() {
        let remote = Arc::new(Recorded {
            tables: vec!["a", "b"],
            ..Default::default()
        });
        let ctx = session(&remote);
        assert_eq!(listed_tables(&ctx).await.unwrap(), ["a", "b"]);
        // Within the TTL, a second query lists nothing again.
        assert_eq!(listed_tables(&ctx).await.unwrap(), ["a", "b"]);
        assert_eq!(remote.listings.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_query_resolves_the_tables_it_names_without_listing() {
        let remote = Arc::new(Recorded {
            tables: vec!["a"],
            ..Default::default()
        });
        let ctx = session(&remote);
        let batches = ctx
            .sql("SELECT x FROM remote.a")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        assert_eq!(batches[0].num_rows(), 1);
        assert_eq!(remote.listings.load(Ordering::SeqCst), 0);
        assert!(ctx.sql("SELECT x FROM remote.nope").await.is_err());
    }

    #[tokio::test]
    async fn a_source_that_cannot_be_listed_fails_the_query() {
        let remote = Arc::new(Recorded {
            tables: vec!["a"],
            fail: true,
            ..Default::default()
        });
        let ctx = session(&remote);
        let err = listed_tables(&ctx).await.unwrap_err().to_string();
        assert!(
            err.contains("datafusion.remote") && err.contains("the server is gone"),
            "{err}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn asked_outside_a_query_the_listing_is_fetched_on_the_callers_runtime() {
        let remote = Arc::new(Recorded {
            tables: vec!["a"],
            ..Default::default()
        });
        let ctx = session(&remote);
        let schema = ctx.catalog("datafusion").unwrap().schema("remote").unwrap();
        assert_eq!(schema.table_names(), ["a"]);
        assert!(schema.table_exist("A"));
        assert_eq!(remote.listings.load(Ordering::SeqCst), 1);
    }

    /// Synchronous callbacks have no error channel: on a current-thread
    /// runtime (which they cannot block) the listing is empty, not a hang.
    #[tokio::test(flavor = "current_thread")]
    async fn outside_a_query_on_a_current_thread_runtime_nothing_is_listed() {
        let remote = Arc::new(Recorded {
            tables: vec!["a"],
            ..Default::default()
        });
        let ctx = session(&remote);
        let schema = ctx.catalog("datafusion").unwrap().schema("remote").unwrap();
        assert_eq!(schema.table_names(), Vec::<String>::new());
        assert_eq!(remote.listings.load(Ordering::SeqCst), 0);
    }
}
