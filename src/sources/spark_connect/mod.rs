//! Spark Connect: remote Spark clusters as DataFusion catalogs.
//!
//! - `SparkConnectClient`: one Spark session over gRPC; query results
//!   stream as Arrow batches, resumed when the stream breaks, interrupted
//!   when dropped.
//! - `SparkCatalog`: what a Spark catalog holds, for the shared `catalog`
//!   mechanism (`<source>.<namespace>.<table>`).
//! - The client is the `RemoteEngine` of the catalog's `RemoteTable`s:
//!   scans and federated subplans reach Spark through lakefed's remote
//!   layer, in its Spark SQL dialect.
//!
//! What an embedder uses is [`SparkConnectOptions`] (with
//! [`ConnectionString`] and [`ClientOptions`]), passed to
//! [`SessionContextExt::register_spark_connect`](crate::SessionContextExt::register_spark_connect).

mod catalog;
pub(crate) mod client;
mod connection;
mod engine;
pub(crate) mod execute;
mod proto;
mod types;

pub(crate) use catalog::SparkCatalog;
pub use client::ClientOptions;
pub(crate) use client::SparkConnectClient;
pub use connection::{ConnectionString, DEFAULT_PORT, Keepalive, TOKEN_ENV, Transport};

/// How a Spark Connect source is attached.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SparkConnectOptions {
    /// The Spark catalog exposed; `None` for the session's current catalog.
    pub catalog: Option<String>,
    /// Timeouts and retries.
    pub client: ClientOptions,
}
