//! A SQL warehouse as a [`RemoteEngine`]: the transport under the shared
//! remote tables, scans and federation.

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use futures::stream::BoxStream;

use super::client::{DatabricksSqlClient, StatementMetrics};
use crate::error::Result;
use crate::remote::{ComputeContext, RemoteEngine, RemoteMetrics};

#[async_trait]
impl RemoteEngine for DatabricksSqlClient {
    fn kind(&self) -> &'static str {
        "databricks_sql"
    }

    /// One warehouse of one workspace, as one identity (one client's
    /// credentials): statements see the same tables with the same grants.
    fn context(&self) -> ComputeContext {
        let key = format!(
            "{}#{}",
            self.workspace().identity_key(),
            self.options().warehouse_id
        );
        ComputeContext::new(self.kind(), &key)
    }

    async fn schema(&self, sql: &str) -> Result<SchemaRef> {
        DatabricksSqlClient::schema(self, sql).await
    }

    async fn execute(
        &self,
        sql: &str,
        metrics: RemoteMetrics,
    ) -> Result<BoxStream<'static, Result<RecordBatch>>> {
        let metrics = StatementMetrics {
            bytes: metrics.counter("bytes_received"),
            batches: metrics.counter("batches_received"),
            chunks: metrics.counter("chunks_received"),
            link_refreshes: metrics.counter("link_refreshes"),
            time_to_first_batch: metrics.time("time_to_first_batch"),
            wait_time: metrics.time("wait_time"),
        };
        DatabricksSqlClient::execute(self, sql, metrics).await
    }
}
