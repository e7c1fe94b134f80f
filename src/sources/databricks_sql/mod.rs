//! Databricks SQL: the catalogs of a workspace, queried on a SQL warehouse
//! through the SQL Statement Execution API 2.0.
//!
//! - `DatabricksSqlClient`: statements on one warehouse; results stream
//!   from their Arrow chunks, downloaded in parallel and in order;
//!   cancelled when dropped.
//! - `DatabricksCatalog`: what a Unity Catalog catalog holds, for the shared
//!   `catalog` mechanism (`<source>.<schema>.<table>`),
//!   listed and described through the Unity Catalog API without waiting
//!   for the warehouse.
//! - The client is the `RemoteEngine` of the
//!   catalog's tables: scans and whole subplans reach the warehouse through
//!   lakefed's remote layer in the Spark SQL dialect, as for Spark Connect.
//! - Authentication is Databricks' unified auth ([`crate::workspace::auth`]).

mod catalog;
pub(crate) mod client;
mod engine;
mod json_rows;
mod results;
mod types;

use std::time::Duration;

use crate::workspace::WorkspaceOptions;

pub(crate) use catalog::DatabricksCatalog;
pub(crate) use client::DatabricksSqlClient;
pub(crate) use types::arrow_field;

/// How a Databricks SQL warehouse is used.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DatabricksSqlOptions {
    /// The SQL warehouse that runs the statements.
    pub warehouse_id: String,
    /// The Unity Catalog catalog statements run in (unqualified names).
    pub catalog: Option<String>,
    /// Result chunks downloaded at once (memory holds at most this many).
    pub chunk_concurrency: usize,
    /// How long a statement waits on the server before it is polled
    /// (0 to 50 seconds, as the API allows).
    pub wait_timeout: Duration,
    /// The longest pause between two polls of a running statement.
    pub max_poll_interval: Duration,
    /// How long a statement may run before it is cancelled; `None`: as
    /// long as it takes.
    pub statement_timeout: Option<Duration>,
    /// Timeouts and retries of the workspace's requests.
    pub workspace: WorkspaceOptions,
}

impl DatabricksSqlOptions {
    /// The options for warehouse `warehouse_id`, with defaults.
    pub fn new(warehouse_id: impl Into<String>) -> Self {
        Self {
            warehouse_id: warehouse_id.into(),
            catalog: None,
            chunk_concurrency: 4,
            wait_timeout: Duration::from_secs(10),
            max_poll_interval: Duration::from_secs(2),
            statement_timeout: None,
            workspace: WorkspaceOptions::default(),
        }
    }
}
