//! Spark Connect: remote Spark clusters as DataFusion catalogs.
//!
//! - [`SparkConnectClient`]: one Spark session over gRPC; query results
//!   stream as Arrow batches, resumed when the stream breaks, interrupted
//!   when dropped.
//! - `SparkCatalog`: what a Spark catalog holds, for the shared
//!   [`catalog`](crate::catalog) mechanism (`<source>.<namespace>.<table>`).
//! - The client is the [`RemoteEngine`](crate::remote::RemoteEngine) of
//!   the catalog's [`RemoteTable`](crate::remote::RemoteTable)s: scans and
//!   federated subplans reach Spark through [`crate::remote`], in its Spark
//!   SQL dialect.

mod catalog;
mod client;
mod connection;
mod engine;
mod execute;
mod proto;
mod types;

pub(crate) use catalog::SparkCatalog;
pub use client::{ClientOptions, SparkConnectClient};
pub use connection::{ConnectionString, DEFAULT_PORT, Keepalive, TOKEN_ENV, Transport};
pub use execute::ExecuteMetrics;
pub use types::{arrow_schema, arrow_type};

/// How a Spark Connect source is attached.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SparkConnectOptions {
    /// The Spark catalog exposed; `None` for the session's current catalog.
    pub catalog: Option<String>,
    /// Timeouts and retries.
    pub client: ClientOptions,
}
