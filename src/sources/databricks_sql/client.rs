//! Statements on a Databricks SQL warehouse through the SQL Statement
//! Execution API 2.0.
//!
//! - A statement is submitted with `disposition = EXTERNAL_LINKS` and
//!   `format = ARROW_STREAM`, waits up to `wait_timeout` on the server and is
//!   then polled with backoff while `PENDING` or `RUNNING`: statements may run
//!   for minutes.
//! - Its result chunks ([`results`](super::results)) are downloaded in
//!   parallel (at most [`DatabricksSqlOptions::chunk_concurrency`] at a time)
//!   and handed to DataFusion in order, so memory is bounded by the
//!   concurrency, not by the size of the result.
//! - Dropping the query before the statement has finished cancels it
//!   (`POST .../cancel`, then polling until a terminal state, as the
//!   reference asks: a cancel may be lost).
//! - A `FAILED` statement is [`Error::Remote`] with the warehouse's error
//!   code, message and SQLSTATE.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::physical_plan::metrics::{Count, Time};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use serde::Deserialize;
use serde_json::json;

use super::DatabricksSqlOptions;
use super::json_rows::JsonRow;
use super::results::{ChunkFetcher, ResultMode};
use crate::background::BackgroundWork;
use crate::error::{Error, Result};
use crate::sources::unity_catalog::{ColumnInfo, columns_schema};
use crate::workspace::WorkspaceClient;

/// What a statement response says (the fields lakefed reads).
#[derive(Debug, Deserialize)]
pub(crate) struct StatementResponse {
    pub statement_id: String,
    pub status: StatementStatus,
    pub manifest: Option<Manifest>,
    pub result: Option<ResultData>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct StatementStatus {
    pub state: String,
    pub error: Option<ServiceError>,
    pub sql_state: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ServiceError {
    pub error_code: Option<String>,
    pub message: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Manifest {
    pub schema: Option<ResultSchema>,
    pub total_chunk_count: Option<usize>,
    pub truncated: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ResultSchema {
    #[serde(default)]
    pub columns: Vec<ColumnInfo>,
}

/// One chunk of a result: links to it (`EXTERNAL_LINKS`) or its data
/// (`INLINE`: rows of strings for `JSON_ARRAY`, base64 Arrow IPC bytes for
/// `ARROW_STREAM`).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ResultData {
    pub chunk_index: Option<usize>,
    #[serde(default)]
    pub external_links: Vec<ExternalLink>,
    pub data_array: Option<Vec<JsonRow>>,
    pub attachment: Option<String>,
}

/// A presigned link to one chunk of a result. Its URL and headers are
/// credentials: `Debug` shows neither.
#[derive(Clone, Deserialize)]
pub(crate) struct ExternalLink {
    pub chunk_index: usize,
    pub external_link: String,
    pub expiration: Option<String>,
    #[serde(default)]
    pub http_headers: std::collections::HashMap<String, String>,
}

impl fmt::Debug for ExternalLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExternalLink")
            .field("chunk_index", &self.chunk_index)
            .field("expiration", &self.expiration)
            .finish_non_exhaustive()
    }
}

/// Counters a statement's result updates as it streams; registered with
/// DataFusion's metrics they show in `EXPLAIN ANALYZE`.
#[derive(Clone, Debug, Default)]
pub struct StatementMetrics {
    /// Arrow IPC bytes downloaded.
    pub bytes: Count,
    /// Arrow batches decoded.
    pub batches: Count,
    /// Result chunks downloaded.
    pub chunks: Count,
    /// Links fetched again because one had expired or failed.
    pub link_refreshes: Count,
    /// From submitting the statement to decoding its first batch.
    pub time_to_first_batch: Time,
    /// Time the statement spent queued and running before its result.
    pub wait_time: Time,
}

/// A client of one SQL warehouse (cheap to clone).
#[derive(Clone)]
pub struct DatabricksSqlClient {
    inner: Arc<Inner>,
}

struct Inner {
    workspace: WorkspaceClient,
    options: DatabricksSqlOptions,
    /// How results are asked for: external links until the warehouse
    /// refuses them, then what it accepts (learned once per client).
    result_mode: parking_lot::Mutex<ResultMode>,
    /// Where statement requests and cancels run.
    background: BackgroundWork,
}

impl fmt::Debug for DatabricksSqlClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabricksSqlClient")
            .field("workspace", &self.inner.workspace)
            .field("warehouse_id", &self.inner.options.warehouse_id)
            .finish()
    }
}

/// The states after which a statement changes no more.
fn is_terminal(state: &str) -> bool {
    matches!(state, "SUCCEEDED" | "FAILED" | "CANCELED" | "CLOSED")
}

impl DatabricksSqlClient {
    /// A client of the warehouse `options` names, in `workspace`, whose
    /// background requests run on the caller's runtime (an error outside
    /// one).
    pub fn new(workspace: WorkspaceClient, options: DatabricksSqlOptions) -> Result<Self> {
        Ok(Self::with_background(
            workspace,
            options,
            BackgroundWork::current()?,
        ))
    }

    /// A client whose statement requests and cancels run as `background`.
    pub fn with_background(
        workspace: WorkspaceClient,
        options: DatabricksSqlOptions,
        background: BackgroundWork,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                workspace,
                options,
                result_mode: parking_lot::Mutex::new(ResultMode::ExternalLinks),
                background,
            }),
        }
    }

    /// The workspace the warehouse belongs to.
    pub fn workspace(&self) -> &WorkspaceClient {
        &self.inner.workspace
    }

    /// The warehouse's settings.
    pub fn options(&self) -> &DatabricksSqlOptions {
        &self.inner.options
    }

    /// The workspace and warehouse, for messages.
    pub fn endpoint(&self) -> String {
        format!(
            "{} (warehouse {})",
            self.inner.workspace.host(),
            self.inner.options.warehouse_id
        )
    }

    /// Runs `sql` and streams its result batch by batch.
    pub async fn execute(
        &self,
        sql: &str,
        metrics: StatementMetrics,
    ) -> Result<BoxStream<'static, Result<RecordBatch>>> {
        let started = Instant::now();
        let (response, mode) = {
            let _waiting = metrics.wait_time.timer();
            self.run(sql).await?
        };
        let manifest = response.manifest.ok_or_else(|| {
            self.remote(
                None,
                None,
                "the statement succeeded without a result manifest".to_string(),
            )
        })?;
        let total = manifest.total_chunk_count.unwrap_or(0);
        // JSON_ARRAY values are strings typed by the manifest, which must
        // be understood; Arrow results only use it to decode text columns.
        let columns = manifest.schema.map(|s| s.columns).unwrap_or_default();
        let manifest_schema = match (mode, columns_schema(&columns)) {
            (_, Ok(schema)) => Some(Arc::new(schema)),
            (ResultMode::InlineJson, Err(err)) => return Err(err),
            (_, Err(_)) => None,
        };
        let fetcher = Arc::new(ChunkFetcher::new(
            self.clone(),
            response.statement_id,
            mode,
            response.result,
            manifest_schema,
            metrics,
            started,
        ));
        let concurrency = self.inner.options.chunk_concurrency.max(1);
        Ok(futures::stream::iter(0..total)
            .map(move |index| {
                let fetcher = Arc::clone(&fetcher);
                async move { fetcher.fetch(index).await }
            })
            .buffered(concurrency)
            .map_ok(|batches| futures::stream::iter(batches.into_iter().map(Ok)))
            .try_flatten()
            .boxed())
    }

    /// The catalog unqualified names resolve in on the warehouse.
    pub async fn current_catalog(&self) -> Result<String> {
        let batches: Vec<RecordBatch> = self
            .execute("SELECT current_catalog()", StatementMetrics::default())
            .await?
            .try_collect()
            .await?;
        let value = batches
            .iter()
            .find(|batch| batch.num_rows() > 0)
            .and_then(|batch| cast(batch.column(0), &DataType::Utf8).ok())
            .and_then(|column| {
                column
                    .as_string_opt::<i32>()
                    .map(|c| c.value(0).to_string())
            });
        value.ok_or_else(|| {
            self.remote(
                None,
                None,
                "SELECT current_catalog() returned no catalog".to_string(),
            )
        })
    }

    /// The schema of the result of `sql`, from the manifest of a statement
    /// that returns no rows.
    pub async fn schema(&self, sql: &str) -> Result<SchemaRef> {
        let (response, _) = self
            .run(&format!("SELECT * FROM ({sql}) AS q LIMIT 0"))
            .await?;
        let columns = response
            .manifest
            .and_then(|manifest| manifest.schema)
            .map(|schema| schema.columns)
            .unwrap_or_default();
        columns_schema(&columns).map(Arc::new)
    }

    /// Submits `sql` and waits until it has succeeded; a wait that is
    /// dropped or fails cancels the statement. Also says how its result
    /// is delivered.
    async fn run(&self, sql: &str) -> Result<(StatementResponse, ResultMode)> {
        let options = &self.inner.options;
        let wait = options.wait_timeout.as_secs();
        if wait != 0 && !(5..=50).contains(&wait) {
            return Err(Error::InvalidArgument(format!(
                "wait_timeout must be 0 or 5 to 50 seconds, not {wait}"
            )));
        }
        if options.workspace.request_timeout <= options.wait_timeout {
            return Err(Error::InvalidArgument(
                "the request timeout must be longer than wait_timeout".to_string(),
            ));
        }
        let started = Instant::now();
        let mut mode = *self.inner.result_mode.lock();
        let mut response = loop {
            match self.submit(self.statement_body(sql, mode)).await {
                Ok(response) => break response,
                Err(err) => match mode.fallback(&err) {
                    Some(next) => mode = next,
                    None => return Err(err),
                },
            }
        };
        // Learned only once the warehouse has accepted a statement in it.
        *self.inner.result_mode.lock() = mode;
        let mut statement = RunningStatement {
            client: self.clone(),
            id: response.statement_id.clone(),
            armed: true,
        };
        let mut delay = Duration::from_millis(100);
        while !is_terminal(&response.status.state) {
            if let Some(limit) = options.statement_timeout
                && started.elapsed() >= limit
            {
                // Dropping the armed statement cancels it.
                return Err(self.remote(
                    Some("DEADLINE_EXCEEDED".to_string()),
                    None,
                    format!(
                        "the statement ran longer than its timeout of {limit:?} and was cancelled"
                    ),
                ));
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(options.max_poll_interval);
            response = self
                .inner
                .workspace
                .get(&format!("api/2.0/sql/statements/{}", statement.id), &[])
                .await?;
        }
        statement.armed = false;
        self.check(&response)?;
        Ok((response, mode))
    }

    /// The request that submits `sql` with results delivered as `mode` says.
    fn statement_body(&self, sql: &str, mode: ResultMode) -> serde_json::Value {
        let options = &self.inner.options;
        let (disposition, format) = mode.disposition_and_format();
        let mut body = json!({
            "statement": sql,
            "warehouse_id": options.warehouse_id,
            "disposition": disposition,
            "format": format,
            "wait_timeout": format!("{}s", options.wait_timeout.as_secs()),
            "on_wait_timeout": "CONTINUE",
        });
        if let Some(catalog) = &options.catalog {
            body["catalog"] = json!(catalog);
        }
        body
    }

    /// Submits a statement. The request runs in a task of its own, so a
    /// query dropped while the warehouse holds the request (up to
    /// `wait_timeout`) still cancels the statement it started.
    async fn submit(&self, body: serde_json::Value) -> Result<StatementResponse> {
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let client = self.clone();
        self.inner.background.spawn(async move {
            let response: Result<StatementResponse> = client
                .inner
                .workspace
                .post("api/2.0/sql/statements", &body)
                .await;
            if let Err(Ok(abandoned)) = sender.send(response)
                && !is_terminal(&abandoned.status.state)
            {
                client.cancel(&abandoned.statement_id).await;
            }
        });
        receiver.await.map_err(|_| Error::Unreachable {
            endpoint: self.endpoint(),
            message: "the statement request ended without an answer".to_string(),
        })?
    }

    /// `Ok` for a statement that succeeded, else the error it ended with.
    fn check(&self, response: &StatementResponse) -> Result<()> {
        let status = &response.status;
        if status.state == "SUCCEEDED" {
            if response
                .manifest
                .as_ref()
                .and_then(|m| m.truncated)
                .unwrap_or(false)
            {
                return Err(self.remote(
                    None,
                    None,
                    "the warehouse truncated the result (row or byte limit)".to_string(),
                ));
            }
            return Ok(());
        }
        let (code, message) = match &status.error {
            Some(error) => (error.error_code.clone(), error.message.clone()),
            None => (None, None),
        };
        let message = message.unwrap_or_else(|| format!("the statement ended {}", status.state));
        Err(self.remote(code, status.sql_state.clone(), message))
    }

    fn remote(&self, code: Option<String>, sql_state: Option<String>, message: String) -> Error {
        Error::Remote {
            endpoint: self.endpoint(),
            error_class: code,
            sql_state,
            message,
        }
    }

    /// Cancels statement `id` and polls until it has ended (bounded).
    async fn cancel(&self, id: &str) {
        let workspace = &self.inner.workspace;
        let path = format!("api/2.0/sql/statements/{id}");
        let cancelled: Result<serde_json::Value> =
            workspace.post(&format!("{path}/cancel"), &json!({})).await;
        if cancelled.is_err() {
            return;
        }
        for _ in 0..50 {
            match workspace.get::<StatementResponse>(&path, &[]).await {
                Ok(response) if !is_terminal(&response.status.state) => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                _ => return,
            }
        }
    }
}

/// A statement that is cancelled if dropped while armed.
struct RunningStatement {
    client: DatabricksSqlClient,
    id: String,
    armed: bool,
}

impl Drop for RunningStatement {
    fn drop(&mut self) {
        if self.armed {
            let client = self.client.clone();
            let id = std::mem::take(&mut self.id);
            self.client
                .inner
                .background
                .spawn(async move { client.cancel(&id).await });
        }
    }
}
