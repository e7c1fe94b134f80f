//! The query service: one shared lakefed session behind an HTTP API.
//!
//! - `POST /query` with SQL as the body (`?timeout_ms=` to shorten the
//!   service's timeout) answers the rows as a JSON array. Only queries run:
//!   DDL, DML and `SET` would change the session every request shares.
//!   A query over its timeout is stopped (504); a client that disconnects
//!   stops its query. Either way the remote operations it started are
//!   interrupted.
//! - `GET /metrics`: queries in flight and done, and per remote source the
//!   scans run, rows and bytes received.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::json::ArrayWriter;
use datafusion::error::DataFusionError;
use datafusion::execution::context::SQLOptions;
use datafusion::physical_plan::{ExecutionPlan, collect};
use datafusion::prelude::SessionContext;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

/// The service's routes over `ctx`, each query bounded by `timeout`.
pub fn router(ctx: SessionContext, timeout: Duration) -> Router {
    let service = Arc::new(Service {
        ctx,
        timeout,
        in_flight: AtomicU64::new(0),
        completed: AtomicU64::new(0),
        sources: Mutex::new(BTreeMap::new()),
    });
    Router::new()
        .route("/query", post(query))
        .route("/metrics", get(metrics))
        .with_state(service)
}

struct Service {
    ctx: SessionContext,
    timeout: Duration,
    in_flight: AtomicU64,
    completed: AtomicU64,
    sources: Mutex<BTreeMap<String, SourceMetrics>>,
}

/// What the remote scans of one source did, summed over finished queries.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct SourceMetrics {
    /// Remote scans run (a federated subplan is one scan).
    pub scans: u64,
    /// Rows the scans returned.
    pub rows: u64,
    /// Bytes received from the remote engine.
    pub bytes_received: u64,
}

/// The body of `GET /metrics`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Metrics {
    /// Queries running now.
    pub in_flight: u64,
    /// Queries that returned rows.
    pub completed: u64,
    /// Per remote source (catalog name).
    pub sources: BTreeMap<String, SourceMetrics>,
}

#[derive(Deserialize)]
struct QueryParams {
    timeout_ms: Option<u64>,
}

/// Counts a query in flight until it is answered or dropped.
struct InFlight<'a>(&'a AtomicU64);

impl<'a> InFlight<'a> {
    fn new(counter: &'a AtomicU64) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        Self(counter)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn query(
    State(service): State<Arc<Service>>,
    Query(params): Query<QueryParams>,
    sql: String,
) -> Response {
    let _in_flight = InFlight::new(&service.in_flight);
    let timeout = params
        .timeout_ms
        .map_or(service.timeout, Duration::from_millis)
        .min(service.timeout);
    // Dropping the query (on timeout, or when axum drops this handler for a
    // client that went away) drops its streams, which interrupts their
    // remote operations.
    match tokio::time::timeout(timeout, service.run(&sql)).await {
        Err(_) => error(
            StatusCode::GATEWAY_TIMEOUT,
            format!("the query ran over its timeout of {timeout:?}"),
        ),
        Ok(Err(QueryError::Plan(err))) => error(StatusCode::BAD_REQUEST, err.to_string()),
        Ok(Err(QueryError::Run(err))) => error(StatusCode::INTERNAL_SERVER_ERROR, err.to_string()),
        Ok(Ok(batches)) => match json_rows(&batches) {
            Ok(body) => ([("content-type", "application/json")], body).into_response(),
            Err(err) => error(StatusCode::INTERNAL_SERVER_ERROR, err.to_string()),
        },
    }
}

async fn metrics(State(service): State<Arc<Service>>) -> Json<Metrics> {
    Json(Metrics {
        in_flight: service.in_flight.load(Ordering::SeqCst),
        completed: service.completed.load(Ordering::SeqCst),
        sources: service.sources.lock().clone(),
    })
}

/// A query that could not be planned (the caller's fault), or failed running.
enum QueryError {
    Plan(DataFusionError),
    Run(DataFusionError),
}

impl Service {
    async fn run(&self, sql: &str) -> Result<Vec<RecordBatch>, QueryError> {
        let read_only = SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false);
        let df = self
            .ctx
            .sql_with_options(sql, read_only)
            .await
            .map_err(QueryError::Plan)?;
        let task = Arc::new(df.task_ctx());
        let plan = df.create_physical_plan().await.map_err(QueryError::Plan)?;
        let batches = collect(Arc::clone(&plan), task)
            .await
            .map_err(QueryError::Run)?;
        self.record(&plan);
        self.completed.fetch_add(1, Ordering::SeqCst);
        Ok(batches)
    }

    /// Adds what the plan's remote scans did to their sources' metrics.
    fn record(&self, plan: &Arc<dyn ExecutionPlan>) {
        let mut sources = self.sources.lock();
        for scan in lakefed::remote_scans(plan) {
            let source = sources.entry(scan.source().to_string()).or_default();
            source.scans += 1;
            if let Some(metrics) = scan.metrics() {
                source.rows += metrics.output_rows().unwrap_or(0) as u64;
                source.bytes_received += metrics
                    .sum_by_name("bytes_received")
                    .map_or(0, |bytes| bytes.as_usize() as u64);
            }
        }
    }
}

fn json_rows(batches: &[RecordBatch]) -> Result<Vec<u8>, DataFusionError> {
    let mut writer = ArrayWriter::new(Vec::new());
    for batch in batches {
        writer.write(batch)?;
    }
    writer.finish()?;
    let body = writer.into_inner();
    // No rows: the writer writes nothing at all.
    Ok(if body.is_empty() {
        b"[]".to_vec()
    } else {
        body
    })
}

fn error(status: StatusCode, message: String) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}
