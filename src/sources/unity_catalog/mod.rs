//! Unity Catalog: the catalogs of a Databricks workspace or a Unity Catalog
//! OSS server as DataFusion catalogs.
//!
//! - `UnityCatalogApi`: the REST API (`/api/2.1/unity-catalog`): listings,
//!   table descriptions, temporary table credentials.
//! - `UnityCatalog`: what one catalog holds, for the shared
//!   `catalog` mechanism, resolving only the tables a
//!   query names.
//! - Each table is answered either **direct** (a Delta table read from its
//!   `storage_location` with credentials the catalog vends, refreshed before
//!   they expire) or by **compute**: a `databricks_sql` or `spark_connect`
//!   source that applies the catalog's row filters and column masks. Views,
//!   filtered and masked tables are never read from storage ([`Route`]).
//!   Tables answered by compute federate with that source's own tables.

mod api;
mod catalog;
mod credentials;
mod files;
mod route;

use std::sync::Arc;
use std::time::Duration;

use crate::remote::RemoteEngine;
use crate::sources::delta::StorageOptions;
use crate::workspace::WorkspaceOptions;

pub(crate) use api::{ColumnInfo, UnityCatalogApi, columns_schema};
pub(crate) use catalog::UnityCatalog;
pub(crate) use catalog::UnitySource;
pub use route::Route;

/// How a Unity Catalog source is attached. New settings may be added in
/// any release: start from `default()` and set what you need.
///
/// ```
/// use lakefed::sources::unity_catalog::{Route, UnityCatalogOptions};
///
/// let mut options = UnityCatalogOptions::default();
/// options.catalog = Some("main".to_string());
/// options.compute = Some("dbx".to_string()); // answers views and governed tables
/// options.route = Route::Auto;
/// // Tables on Azure are reached at this blob endpoint (here: Azurite's).
/// let endpoint = "http://127.0.0.1:10000/devstoreaccount1";
/// options.storage.extra.insert("azure_storage_endpoint".to_string(), endpoint.to_string());
/// assert_eq!(options.route, Route::default());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnityCatalogOptions {
    /// The Unity Catalog catalog shown under the source's name; `None`:
    /// every catalog, each as a DataFusion catalog of its own name.
    pub catalog: Option<String>,
    /// The source (a registered `databricks_sql` or `spark_connect`
    /// catalog) that answers the tables not read from storage.
    pub compute: Option<String>,
    /// Which tables are read from storage.
    pub route: Route,
    /// Endpoint, region and other settings of the object store (vended
    /// credentials name none); the `AWS_*` variables fill in the rest.
    pub storage: StorageOptions,
    /// How long listings and resolved tables are reused.
    pub cache_ttl: Duration,
    /// Timeouts and retries of the catalog's requests.
    pub workspace: WorkspaceOptions,
}

impl Default for UnityCatalogOptions {
    fn default() -> Self {
        Self {
            catalog: None,
            compute: None,
            route: Route::Auto,
            storage: StorageOptions::default(),
            cache_ttl: Duration::from_secs(30),
            workspace: WorkspaceOptions::default(),
        }
    }
}

/// The source that answers a Unity Catalog source's governed tables.
#[derive(Clone, Debug)]
pub(crate) struct Compute {
    /// Its name, for EXPLAIN.
    pub(crate) source: String,
    /// Its engine: the same as its own tables', so they federate together.
    pub(crate) engine: Arc<dyn RemoteEngine>,
}
