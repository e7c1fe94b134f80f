//! lakefed: embedded query federation for the lakehouse, on Apache DataFusion.
//!
//! lakefed adds sources to a plain DataFusion [`SessionContext`]: Delta Lake
//! tables read straight from storage (local paths or S3), and, as they land,
//! Spark Connect, Databricks SQL and Unity Catalog. A query is planned once by
//! DataFusion; filters, projections and limits reach each source's scan, and
//! federation sends whole subplans (joins, aggregates, sorts) to the
//! remote engine that owns their tables.
//!
//! ```no_run
//! use lakefed::SessionContextExt;
//!
//! # async fn example() -> lakefed::Result<()> {
//! let ctx = lakefed::new_session_context();
//! ctx.register_delta("orders", "/data/orders").await?;
//! ctx.register_delta_schema("lake", "s3://bucket/warehouse", Default::default())?;
//! let df = ctx.sql("SELECT count(*) FROM orders JOIN lake.customers USING (customer_id)").await?;
//! df.show().await?;
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]

mod background;
mod catalog;
pub mod config;
mod error;
mod federation;
mod optimizer;
mod remote;
mod secret;
mod semantics;
#[cfg(feature = "slt")]
pub mod slt;
pub mod sources;
pub mod unstable;
pub mod workspace;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::prelude::{SessionConfig, SessionContext};

use catalog::{LISTING_TTL, LazyCatalog, LazySchema};

pub use background::BackgroundWork;
pub use config::Config;
use config::{DeltaLayout, SourceKind};
pub use error::{Error, Result};
pub use remote::{RemoteScanExec, remote_scans};
pub use secret::Secret;

/// The Rust examples of the README compile (`cargo test --doc`).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;
use sources::databricks_sql::{DatabricksCatalog, DatabricksSqlClient, DatabricksSqlOptions};
use sources::delta::{
    DeltaScanFunction, DeltaSchemaProvider, DeltaTableProvider, StorageOptions,
    TableChangesFunction, TableVersion, parse_location,
};
use sources::spark_connect::{
    ConnectionString, SparkCatalog, SparkConnectClient, SparkConnectOptions,
};
use sources::unity_catalog::{
    Compute, UnityCatalog, UnityCatalogApi, UnityCatalogOptions, UnitySource,
};
use workspace::WorkspaceClient;
use workspace::auth::AuthConfig;

/// The remote engines of a session's Spark Connect and Databricks SQL
/// sources, by source name: the compute a Unity Catalog source may name.
/// Kept in the session's config, not looked up in its catalogs, which
/// DataFusion may wrap (`enable_url_table`).
#[derive(Default)]
struct ComputeEngines(parking_lot::Mutex<HashMap<String, Arc<dyn remote::RemoteEngine>>>);

/// Records `engine` as the compute of source `name` in `ctx`.
fn remember_engine(ctx: &SessionContext, name: &str, engine: Arc<dyn remote::RemoteEngine>) {
    let state = ctx.state_ref();
    let mut state = state.write();
    let engines = match state.config().get_extension::<ComputeEngines>() {
        Some(engines) => engines,
        None => {
            let engines = Arc::new(ComputeEngines::default());
            state.config_mut().set_extension(Arc::clone(&engines));
            engines
        }
    };
    engines.0.lock().insert(name.to_string(), engine);
}

/// The compute source `name`: a `databricks_sql` or `spark_connect` source
/// registered in `ctx` before.
fn compute_source(ctx: &SessionContext, name: &str) -> Result<Compute> {
    let engine = ctx
        .state()
        .config()
        .get_extension::<ComputeEngines>()
        .and_then(|engines| engines.0.lock().get(name).cloned())
        .ok_or_else(|| {
            Error::InvalidArgument(format!(
                "compute source '{name}' is not a registered databricks_sql or spark_connect \
                 source (register it before the Unity Catalog source)"
            ))
        })?;
    Ok(Compute {
        source: name.to_string(),
        engine,
    })
}

/// A DataFusion session set up for lakefed: `information_schema` on, lakefed's
/// table functions (`delta_scan`) registered, federation and its
/// `lakefed.*` settings enabled, and lakefed's local semantics
/// (overflow is an error) installed.
pub fn new_session_context() -> SessionContext {
    let config = SessionConfig::new().with_information_schema(true);
    let ctx = SessionContext::new_with_config(config);
    ctx.register_lakefed_functions();
    federation::enable_federation(&ctx);
    semantics::install(&ctx);
    ctx
}

/// lakefed's additions to DataFusion's [`SessionContext`].
#[async_trait]
pub trait SessionContextExt {
    /// Registers the table functions lakefed provides (`delta_scan`,
    /// `table_changes`).
    fn register_lakefed_functions(&self);

    /// Registers the Delta table at `location` (URL or local path) as `name`,
    /// reaching storage with options from the environment.
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// use datafusion::arrow::array::{Int64Array, RecordBatch};
    /// use datafusion::arrow::datatypes::{DataType, Field, Schema};
    /// use datafusion::arrow::util::pretty::pretty_format_batches;
    /// use lakefed::SessionContextExt;
    /// use lakefed::sources::delta::{SaveMode, StorageOptions, write_batches};
    ///
    /// # #[tokio::main]
    /// # async fn main() -> lakefed::Result<()> {
    /// let dir = tempfile::tempdir().unwrap();
    /// let location = dir.path().join("orders").to_string_lossy().into_owned();
    /// let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
    /// let ids = Arc::new(Int64Array::from(vec![1, 2, 3]));
    /// let batch = RecordBatch::try_new(schema, vec![ids]).unwrap();
    /// let none = StorageOptions::default();
    /// write_batches(&location, &none, vec![batch], &[], SaveMode::ErrorIfExists).await?;
    ///
    /// let ctx = lakefed::new_session_context();
    /// ctx.register_delta("orders", &location).await?;
    /// let rows = ctx.sql("SELECT sum(id) AS total FROM orders").await?.collect().await?;
    /// assert!(pretty_format_batches(&rows).unwrap().to_string().contains("| 6     |"));
    /// # Ok(())
    /// # }
    /// ```
    async fn register_delta(&self, name: &str, location: &str) -> Result<()> {
        self.register_delta_with(
            name,
            location,
            StorageOptions::default(),
            TableVersion::Latest,
        )
        .await
    }

    /// Registers the Delta table at `location` as `name` with explicit storage
    /// options and version (time travel pins the table to that version).
    async fn register_delta_with(
        &self,
        name: &str,
        location: &str,
        options: StorageOptions,
        version: TableVersion,
    ) -> Result<()>;

    /// Registers every Delta table under `location` as schema `name` of the
    /// default catalog. Tables are discovered lazily, when a query names them.
    fn register_delta_schema(
        &self,
        name: &str,
        location: &str,
        options: StorageOptions,
    ) -> Result<()>;

    /// Attaches the Spark Connect server at `url` (`sc://host:port/;param=value`)
    /// as catalog `name`: its tables become `name.<namespace>.<table>`. The
    /// token comes from the URL or `SPARK_CONNECT_AUTHENTICATE_TOKEN`. Nothing
    /// is sent until a query names the catalog.
    fn register_spark_connect(&self, name: &str, url: &str) -> Result<()> {
        let connection = ConnectionString::parse_with_env(url)?;
        self.register_spark_connect_with(name, &connection, SparkConnectOptions::default())
    }

    /// Attaches a Spark Connect server as catalog `name`, with explicit
    /// catalog, timeouts and retries.
    fn register_spark_connect_with(
        &self,
        name: &str,
        connection: &ConnectionString,
        options: SparkConnectOptions,
    ) -> Result<()>;

    /// Attaches a Unity Catalog catalog of a Databricks workspace, queried
    /// on the SQL warehouse `options.warehouse_id`, as catalog `name`: its
    /// tables become `name.<schema>.<table>`. `auth` is resolved as the
    /// Databricks SDKs do (explicit settings, `DATABRICKS_*` variables,
    /// `~/.databrickscfg`). Without `options.catalog`, the warehouse's
    /// current catalog is asked for (one statement).
    async fn register_databricks_sql(
        &self,
        name: &str,
        auth: &AuthConfig,
        options: DatabricksSqlOptions,
    ) -> Result<()>;

    /// Attaches the Unity Catalog server `auth` names (a Databricks
    /// workspace or Unity Catalog OSS): the catalog `options.catalog` as
    /// catalog `name`, or without it every catalog under its own name.
    /// Delta tables are read from storage with credentials the catalog
    /// vends; views and tables with row filters or column masks are
    /// answered by `options.compute`, a `databricks_sql` or `spark_connect`
    /// catalog registered before. Nothing but the catalog names (without
    /// `options.catalog`) is read until a query names a table.
    async fn register_unity_catalog(
        &self,
        name: &str,
        auth: &AuthConfig,
        options: UnityCatalogOptions,
    ) -> Result<()>;

    /// Attaches every source of a [`Config`].
    ///
    /// ```
    /// use std::path::Path;
    ///
    /// use lakefed::{Config, SessionContextExt};
    ///
    /// # #[tokio::main]
    /// # async fn main() -> lakefed::Result<()> {
    /// let toml = r#"
    ///     [sources.spark]
    ///     kind = "spark_connect"
    ///     url = "sc://127.0.0.1:15002"
    /// "#;
    /// let config = Config::from_toml(toml, Path::new("lakefed.toml"))?;
    /// let ctx = lakefed::new_session_context();
    /// // Nothing is sent to Spark until a query names the catalog.
    /// ctx.register_config(&config).await?;
    /// assert!(ctx.catalog("spark").is_some());
    ///
    /// // A bad file is an error that names the file and the source.
    /// let bad = Config::from_toml("[sources.x]\nkind = \"hdfs\"", Path::new("lakefed.toml"));
    /// let message = bad.unwrap_err().to_string();
    /// assert!(message.contains("lakefed.toml") && message.contains("sources.x"), "{message}");
    /// # Ok(())
    /// # }
    /// ```
    async fn register_config(&self, config: &Config) -> Result<()>;

    /// Makes `work` the background work of this session's remote sources
    /// registered from now on (see [`BackgroundWork`]): for an embedder
    /// that registers them outside its runtime, or shares one
    /// [`BackgroundWork`] between sessions. Without it, the first remote
    /// source registered takes the runtime it is registered on.
    fn use_background_work(&self, work: BackgroundWork);

    /// The background work of this session: interrupts of remote operations
    /// whose queries were dropped, releases of their results, cancels of
    /// abandoned statements, the end of its Spark sessions. An error outside
    /// a Tokio runtime when the session has none yet.
    fn background_work(&self) -> Result<BackgroundWork>;

    /// Ends the session: drops it (its Spark sessions end with it, unless a
    /// clone of the context or of its state lives on) and waits for its
    /// background requests to reach their servers. A program that cancels
    /// queries calls this before it exits, or a remote operation may keep
    /// running.
    ///
    /// ```
    /// use lakefed::SessionContextExt;
    ///
    /// # #[tokio::main]
    /// # async fn main() -> lakefed::Result<()> {
    /// let ctx = lakefed::new_session_context();
    /// ctx.register_spark_connect("spark", "sc://127.0.0.1:15002")?;
    /// let work = ctx.background_work()?;
    /// ctx.shutdown().await;
    /// assert_eq!(work.pending(), 0);
    /// # Ok(())
    /// # }
    /// ```
    async fn shutdown(self)
    where
        Self: Sized;
}

#[async_trait]
impl SessionContextExt for SessionContext {
    fn register_lakefed_functions(&self) {
        self.register_udtf("delta_scan", Arc::new(DeltaScanFunction::default()));
        self.register_udtf("table_changes", Arc::new(TableChangesFunction::default()));
    }

    async fn register_delta_with(
        &self,
        name: &str,
        location: &str,
        options: StorageOptions,
        version: TableVersion,
    ) -> Result<()> {
        let url = parse_location(location)?;
        let table = DeltaTableProvider::try_open(&url, &options, version).await?;
        self.register_table(name, Arc::new(table))?;
        semantics::install(self);
        Ok(())
    }

    fn register_delta_schema(
        &self,
        name: &str,
        location: &str,
        options: StorageOptions,
    ) -> Result<()> {
        let url = parse_location(location)?;
        let schema = DeltaSchemaProvider::try_new(url, options)?;
        catalog::register_schema(self, name, LazySchema::new(schema, LISTING_TTL))?;
        semantics::install(self);
        Ok(())
    }

    fn register_spark_connect_with(
        &self,
        name: &str,
        connection: &ConnectionString,
        options: SparkConnectOptions,
    ) -> Result<()> {
        let background = background::of_session(self)?;
        let client = SparkConnectClient::with_background(connection, options.client, background)?;
        remember_engine(self, name, Arc::new(client.clone()));
        let catalog = SparkCatalog::new(client, name, options.catalog);
        catalog::register_catalog(self, name, LazyCatalog::new(catalog, LISTING_TTL));
        federation::enable_federation(self);
        semantics::install(self);
        Ok(())
    }

    async fn register_databricks_sql(
        &self,
        name: &str,
        auth: &AuthConfig,
        options: DatabricksSqlOptions,
    ) -> Result<()> {
        let workspace = WorkspaceClient::new(auth, options.workspace.clone())?;
        let background = background::of_session(self)?;
        let client = DatabricksSqlClient::with_background(workspace, options, background);
        let catalog = match &client.options().catalog {
            Some(catalog) => catalog.clone(),
            None => client.current_catalog().await?,
        };
        remember_engine(self, name, Arc::new(client.clone()));
        let catalog = DatabricksCatalog::new(client, name, &catalog);
        catalog::register_catalog(self, name, LazyCatalog::new(catalog, LISTING_TTL));
        federation::enable_federation(self);
        semantics::install(self);
        Ok(())
    }

    async fn register_unity_catalog(
        &self,
        name: &str,
        auth: &AuthConfig,
        options: UnityCatalogOptions,
    ) -> Result<()> {
        let storage = &options.storage;
        if storage.access_key_id.is_some()
            || storage.secret_access_key.is_some()
            || storage.session_token.is_some()
        {
            return Err(Error::InvalidArgument(
                "a Unity Catalog source reads storage with the credentials the catalog vends \
                 for each table: remove the storage keys"
                    .to_string(),
            ));
        }
        let compute = match &options.compute {
            Some(compute) => Some(compute_source(self, compute)?),
            None => None,
        };
        let workspace = WorkspaceClient::new(auth, options.workspace.clone())?;
        let api = UnityCatalogApi::new(workspace);
        let catalogs = match &options.catalog {
            Some(catalog) => vec![(name.to_string(), catalog.clone())],
            None => api
                .catalog_names()
                .await?
                .into_iter()
                .map(|catalog| (catalog.clone(), catalog))
                .collect(),
        };
        let source = Arc::new(UnitySource {
            name: name.to_string(),
            api,
            options,
            compute,
        });
        if let Some((taken, _)) = catalogs
            .iter()
            .find(|(registered, _)| self.catalog(registered).is_some())
        {
            return Err(Error::InvalidArgument(format!(
                "Unity Catalog catalog '{taken}' would replace the catalog of that name \
                 already registered; set `catalog` to attach one catalog under the source's name"
            )));
        }
        for (registered, catalog) in catalogs {
            let ttl = source.options.cache_ttl;
            let catalog = UnityCatalog::new(Arc::clone(&source), &catalog);
            catalog::register_catalog(self, &registered, LazyCatalog::new(catalog, ttl));
        }
        federation::enable_federation(self);
        semantics::install(self);
        Ok(())
    }

    fn use_background_work(&self, work: BackgroundWork) {
        background::install(self, work);
    }

    fn background_work(&self) -> Result<BackgroundWork> {
        background::of_session(self)
    }

    async fn shutdown(self) {
        let work = background::installed(&self);
        drop(self);
        if let Some(work) = work {
            work.finished().await;
        }
    }

    async fn register_config(&self, config: &Config) -> Result<()> {
        // Unity Catalog sources last: their compute sources come first.
        let (catalogs, others): (Vec<_>, Vec<_>) = config
            .sources
            .iter()
            .partition(|source| matches!(source.kind, SourceKind::UnityCatalog(_)));
        for source in others.into_iter().chain(catalogs) {
            let registered = match &source.kind {
                SourceKind::DatabricksSql(databricks) => {
                    self.register_databricks_sql(
                        &source.name,
                        &databricks.auth,
                        databricks.options.clone(),
                    )
                    .await
                }
                SourceKind::UnityCatalog(unity) => {
                    self.register_unity_catalog(&source.name, &unity.auth, unity.options.clone())
                        .await
                }
                SourceKind::SparkConnect(spark) => self.register_spark_connect_with(
                    &source.name,
                    &spark.connection,
                    spark.options.clone(),
                ),
                SourceKind::Delta(delta) => match delta.layout {
                    DeltaLayout::Table => {
                        self.register_delta_with(
                            &source.name,
                            &delta.location,
                            delta.storage.clone(),
                            TableVersion::Latest,
                        )
                        .await
                    }
                    DeltaLayout::Schema => self.register_delta_schema(
                        &source.name,
                        &delta.location,
                        delta.storage.clone(),
                    ),
                },
            };
            registered.map_err(|err| {
                Error::InvalidArgument(format!("source '{}': {err}", source.name))
            })?;
        }
        Ok(())
    }
}
