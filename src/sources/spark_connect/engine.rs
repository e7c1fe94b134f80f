//! A Spark Connect session as a [`RemoteEngine`]: the transport under the
//! shared remote tables, scans and federation.

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use futures::stream::BoxStream;

use super::client::SparkConnectClient;
use super::execute::ExecuteMetrics;
use crate::error::Result;
use crate::remote::{ComputeContext, RemoteEngine, RemoteMetrics};

#[async_trait]
impl RemoteEngine for SparkConnectClient {
    fn kind(&self) -> &'static str {
        "spark_connect"
    }

    /// One Spark session on one server: temporary views and settings are
    /// per session, and the session carries the client's identity.
    fn context(&self) -> ComputeContext {
        let key = format!("{}#{}", self.endpoint(), self.session_id());
        ComputeContext::new(self.kind(), &key)
    }

    async fn schema(&self, sql: &str) -> Result<SchemaRef> {
        SparkConnectClient::schema(self, sql).await
    }

    async fn execute(
        &self,
        sql: &str,
        metrics: RemoteMetrics,
    ) -> Result<BoxStream<'static, Result<RecordBatch>>> {
        SparkConnectClient::execute(self, sql, ExecuteMetrics::registered_in(&metrics)).await
    }
}
