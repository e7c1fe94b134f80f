//! Spark Connect: remote Spark clusters as DataFusion catalogs.
//!
//! - [`SparkConnectClient`]: one Spark session over gRPC; query results
//!   stream as Arrow batches, resumed when the stream breaks, interrupted
//!   when dropped.
//! - [`SparkCatalog`]: a Spark catalog as a DataFusion catalog
//!   (`<source>.<namespace>.<table>`).
//! - [`SparkTable`]: a scan sends one Spark SQL statement with the
//!   projection, the filters Spark evaluates exactly as DataFusion does, and
//!   the limit; [`SparkScanExec`] shows it in EXPLAIN.
//! - [`sql`]: the Spark SQL dialect, down to whole subplans that
//!   [`federation`](crate::federation) sends as one statement.

mod catalog;
mod client;
mod connection;
mod execute;
mod query;
mod scan;
pub mod sql;
mod table;
mod types;

pub use catalog::{SparkCatalog, SparkSchema};
pub use client::{ClientOptions, SparkConnectClient};
pub use connection::{ConnectionString, DEFAULT_PORT, Keepalive, TOKEN_ENV, Transport};
pub use execute::ExecuteMetrics;
pub(crate) use query::SparkQueryTable;
pub use scan::{SparkScanExec, spark_scans};
pub use table::{SparkTable, SparkTableName};
pub use types::{arrow_schema, arrow_type};

/// How a Spark Connect source is attached.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SparkConnectOptions {
    /// The Spark catalog exposed; `None` for the session's current catalog.
    pub catalog: Option<String>,
    /// Timeouts and retries.
    pub client: ClientOptions,
}
