//! The seam between DataFusion and the remote SQL engines lakefed federates
//! to (Spark Connect today; Databricks SQL speaks the same dialect).
//!
//! - [`RemoteEngine`]: the transport. Runs a statement and streams its
//!   Arrow result (cancelled when the stream is dropped), looks up the
//!   schema of a statement, and names its compute context: two tables may
//!   be read by one statement only when their [`ComputeContext`]s are equal.
//! - [`sql`]: the Spark SQL dialect, from literals and identifiers up to
//!   whole subplans. It names no source and no transport.
//! - [`RemoteTable`], [`RemoteScanExec`] and the federated query table:
//!   one remote table, one statement's result and one scan plan for every
//!   engine. `EXPLAIN` shows `RemoteScanExec: source=.., engine=.., sql=..`.
//!
//! A source (one folder under [`crate::sources`]) implements
//! [`RemoteEngine`] and maps its catalog onto [`RemoteTable`]s; everything
//! above, federation included, is shared.

mod query;
mod scan;
pub mod sql;
mod table;

use std::fmt::Debug;

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::physical_plan::metrics::{Count, ExecutionPlanMetricsSet, MetricBuilder, Time};
use futures::stream::BoxStream;

use crate::error::Result;

pub(crate) use query::{RemoteQuery, RemoteQueryTable};
pub use scan::{RemoteScanExec, remote_scans};
pub use table::{RemoteTable, RemoteTableName};

/// A remote engine that runs Spark SQL statements.
#[async_trait]
pub trait RemoteEngine: Debug + Send + Sync {
    /// The kind of engine, for EXPLAIN (`spark_connect`).
    fn kind(&self) -> &'static str;

    /// Where statements run: tables whose contexts are equal can be read
    /// by one statement.
    fn context(&self) -> ComputeContext;

    /// The schema of the result of `sql`, without running it.
    async fn schema(&self, sql: &str) -> Result<SchemaRef>;

    /// Runs the query `sql` and streams its result. The statement is
    /// cancelled on the server when the stream is dropped before its end.
    /// Engines report what they received through `metrics`, under the
    /// common names `bytes_received`, `batches_received` and
    /// `time_to_first_batch` and any of their own.
    async fn execute(
        &self,
        sql: &str,
        metrics: RemoteMetrics,
    ) -> Result<BoxStream<'static, Result<RecordBatch>>>;
}

/// Identifies where a remote statement runs: the same server, the same
/// session or warehouse, the same identity.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ComputeContext(String);

impl ComputeContext {
    /// The context named `key` (unique per server, session or warehouse,
    /// and identity) of an engine of `kind`.
    pub fn new(kind: &str, key: &str) -> Self {
        Self(format!("{kind}:{key}"))
    }
}

/// Where an engine records the metrics of one scan partition, shown by
/// `EXPLAIN ANALYZE`; a default one records nowhere.
#[derive(Clone, Debug, Default)]
pub struct RemoteMetrics {
    scan: Option<(ExecutionPlanMetricsSet, usize)>,
}

impl RemoteMetrics {
    /// The metrics of `partition` of a scan.
    pub(crate) fn new(set: ExecutionPlanMetricsSet, partition: usize) -> Self {
        Self {
            scan: Some((set, partition)),
        }
    }

    /// A counter named `name`.
    pub fn counter(&self, name: &'static str) -> Count {
        match &self.scan {
            Some((set, partition)) => MetricBuilder::new(set).counter(name, *partition),
            None => Count::new(),
        }
    }

    /// A timer named `name`, part of the scan's elapsed time.
    pub fn time(&self, name: &'static str) -> Time {
        match &self.scan {
            Some((set, partition)) => MetricBuilder::new(set).subset_time(name, *partition),
            None => Time::new(),
        }
    }
}
