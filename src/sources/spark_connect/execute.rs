//! Running a query: a reattachable `ExecutePlan` whose Arrow batches stream
//! out one by one as the consumer asks for them.
//!
//! - When the result stream breaks (connection lost, or the server ends the
//!   stream before `ResultComplete`, as it does every few minutes by design),
//!   the client reattaches after the last response it saw: no batch is lost
//!   or repeated.
//! - Consumed responses are released (every few MiB) so the server can free
//!   them.
//! - Dropping the stream before the result is complete interrupts the
//!   operation on the server.

use std::collections::VecDeque;
use std::time::Instant;

use super::proto;
use super::proto::execute_plan_response::ResponseType;
use backon::BackoffBuilder;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::buffer::Buffer;
use datafusion::arrow::ipc::reader::StreamDecoder;
use datafusion::physical_plan::metrics::{Count, Time};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use tonic::{Code, Status, Streaming};

use super::client::{SparkConnectClient, is_unavailable};
use crate::error::{Error, Result};
use crate::remote::RemoteMetrics;

/// Consumed responses are released in steps of this many bytes: one
/// `ReleaseExecute` per Arrow batch (Spark sends thousands of small ones)
/// made a 20M-row fetch 25% slower, and the server drops responses beyond
/// its retry buffer on its own.
const RELEASE_EVERY_BYTES: usize = 8 << 20;

/// Counters a result stream updates as it goes; register them with
/// DataFusion's metrics to see them in `EXPLAIN ANALYZE`.
#[derive(Clone, Debug, Default)]
pub struct ExecuteMetrics {
    /// Arrow IPC bytes received.
    pub bytes: Count,
    /// Arrow batches received.
    pub batches: Count,
    /// Times the stream was resumed with `ReattachExecute`.
    pub reattaches: Count,
    /// From sending the query to decoding its first batch.
    pub time_to_first_batch: Time,
    /// Time spent waiting for the server's next response.
    pub wait_time: Time,
    /// Time spent decoding Arrow IPC.
    pub decode_time: Time,
}

impl ExecuteMetrics {
    /// The counters, registered in `metrics` under the names `EXPLAIN
    /// ANALYZE` shows.
    pub fn registered_in(metrics: &RemoteMetrics) -> Self {
        Self {
            bytes: metrics.counter("bytes_received"),
            batches: metrics.counter("batches_received"),
            reattaches: metrics.counter("reattaches"),
            time_to_first_batch: metrics.time("time_to_first_batch"),
            wait_time: metrics.time("wait_time"),
            decode_time: metrics.time("decode_time"),
        }
    }
}

impl SparkConnectClient {
    /// Runs a Spark SQL query and streams its result batch by batch. The
    /// first batch is returned as soon as it arrives; memory holds at most
    /// one response at a time.
    pub async fn execute(
        &self,
        sql: &str,
        metrics: ExecuteMetrics,
    ) -> Result<BoxStream<'static, Result<RecordBatch>>> {
        let started = Instant::now();
        // Armed before the request leaves: a query cancelled while it waits
        // for the server's first answer is interrupted too.
        let mut guard = InterruptOnDrop {
            client: self.clone(),
            operation_id: uuid::Uuid::new_v4().to_string(),
            armed: true,
        };
        let responses = match self.start_execute(sql, &guard.operation_id).await {
            Ok(responses) => responses,
            Err(status) => {
                guard.armed = false;
                return Err(self.error(status));
            }
        };
        let execution = Execution {
            guard,
            responses,
            last_response_id: None,
            pending: VecDeque::new(),
            complete: false,
            started,
            received_batch: false,
            unreleased_bytes: 0,
            metrics,
        };
        Ok(
            futures::stream::try_unfold(execution, |mut execution| async move {
                let batch = execution.next_batch().await?;
                Ok(batch.map(|batch| (batch, execution)))
            })
            .boxed(),
        )
    }

    /// Runs a Spark SQL statement (a query, DDL, or DML) and collects its
    /// whole result. For small results; use [`Self::execute`] to stream.
    pub async fn collect(&self, sql: &str) -> Result<Vec<RecordBatch>> {
        self.execute(sql, ExecuteMetrics::default())
            .await?
            .try_collect()
            .await
    }
}

/// One running operation.
struct Execution {
    guard: InterruptOnDrop,
    responses: Streaming<proto::ExecutePlanResponse>,
    last_response_id: Option<String>,
    /// Batches decoded from the last response and not yet returned.
    pending: VecDeque<RecordBatch>,
    complete: bool,
    started: Instant,
    received_batch: bool,
    unreleased_bytes: usize,
    metrics: ExecuteMetrics,
}

impl Execution {
    async fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        let mut backoff = None;
        loop {
            if let Some(batch) = self.pending.pop_front() {
                return Ok(Some(batch));
            }
            if self.complete {
                return Ok(None);
            }
            let next = {
                let _waiting = self.metrics.wait_time.timer();
                self.responses.message().await
            };
            let interruption = match next {
                Ok(Some(response)) => {
                    backoff = None;
                    self.handle(response)?;
                    continue;
                }
                Ok(None) => {
                    Status::unavailable("the result stream ended before the result was complete")
                }
                Err(status) if is_resumable(&status) => status,
                Err(status) => {
                    // The operation failed on the server: nothing to interrupt.
                    self.guard.armed = false;
                    return Err(self.guard.client.error(status));
                }
            };
            let delays = backoff.get_or_insert_with(|| self.guard.client.backoff().build());
            self.reattach(interruption, delays).await?;
        }
    }

    /// Takes one response: decodes Arrow batches, notes completion.
    fn handle(&mut self, response: proto::ExecutePlanResponse) -> Result<()> {
        let response_id = response.response_id;
        match response.response_type {
            Some(ResponseType::ArrowBatch(batch)) => {
                let batch_len = batch.data.len();
                self.metrics.bytes.add(batch_len);
                let _decoding = self.metrics.decode_time.timer();
                self.pending
                    .extend(decode_ipc_stream(batch.data.into()).map_err(|err| {
                        self.guard.client.protocol_error(&format!(
                            "cannot decode an Arrow batch of the result: {err}"
                        ))
                    })?);
                self.metrics.batches.add(1);
                if !self.received_batch {
                    self.received_batch = true;
                    self.metrics
                        .time_to_first_batch
                        .add_duration(self.started.elapsed());
                }
                self.unreleased_bytes += batch_len;
                if self.unreleased_bytes >= RELEASE_EVERY_BYTES {
                    self.unreleased_bytes = 0;
                    self.guard
                        .client
                        .release(&self.guard.operation_id, Some(response_id.clone()));
                }
            }
            Some(ResponseType::ResultComplete(_)) => {
                self.complete = true;
                self.guard.armed = false;
                self.guard.client.release(&self.guard.operation_id, None);
            }
            // Schema, progress and metrics carry nothing the result needs.
            _ => {}
        }
        if !response_id.is_empty() {
            self.last_response_id = Some(response_id);
        }
        Ok(())
    }

    /// Resumes the result stream after the last response seen, pausing as the
    /// backoff says; gives up with a clear error when it runs out.
    async fn reattach(
        &mut self,
        interruption: Status,
        delays: &mut impl Iterator<Item = std::time::Duration>,
    ) -> Result<()> {
        let client = self.guard.client.clone();
        let mut last_failure = interruption;
        loop {
            let Some(delay) = delays.next() else {
                return Err(match client.error(last_failure) {
                    Error::Unreachable { endpoint, message } => Error::Unreachable {
                        endpoint,
                        message: format!(
                            "the result stream broke and could not be resumed: {message}"
                        ),
                    },
                    other => other,
                });
            };
            tokio::time::sleep(delay).await;
            self.metrics.reattaches.add(1);
            match client
                .reattach(&self.guard.operation_id, self.last_response_id.clone())
                .await
            {
                Ok(responses) => {
                    self.responses = responses;
                    return Ok(());
                }
                Err(status) if is_resumable(&status) => last_failure = status,
                Err(status) => {
                    self.guard.armed = false;
                    return Err(client.error(status));
                }
            }
        }
    }
}

/// Whether a broken result stream may be resumed by reattaching: the server
/// was unreachable, the connection failed under the stream (tonic then keeps
/// the transport error as the status's source), or the server says the
/// stream was disconnected.
fn is_resumable(status: &Status) -> bool {
    is_unavailable(status)
        || (status.code() == Code::Unknown && std::error::Error::source(status).is_some())
        || status.message().contains("INVALID_CURSOR.DISCONNECTED")
}

/// Each `arrow_batch` is a complete Arrow IPC stream: schema, then batches.
/// Decoding shares the received buffer instead of copying it.
fn decode_ipc_stream(mut buffer: Buffer) -> Result<Vec<RecordBatch>, String> {
    let mut decoder = StreamDecoder::new();
    let mut batches = Vec::new();
    while !buffer.is_empty() {
        match decoder.decode(&mut buffer).map_err(|err| err.to_string())? {
            Some(batch) => batches.push(batch),
            None => continue,
        }
    }
    decoder.finish().map_err(|err| err.to_string())?;
    Ok(batches)
}

/// Interrupts the operation on the server when the result stream is dropped
/// before the result was complete (a cancelled query, a `LIMIT` satisfied
/// early, an error elsewhere in the plan).
struct InterruptOnDrop {
    client: SparkConnectClient,
    operation_id: String,
    armed: bool,
}

impl Drop for InterruptOnDrop {
    fn drop(&mut self) {
        if self.armed {
            let client = self.client.clone();
            let operation_id = std::mem::take(&mut self.operation_id);
            self.client.background().spawn(async move {
                // If the interrupt fails, the operation ends on its own and
                // its results are dropped with the session.
                let _ = client.interrupt_operation(&operation_id).await;
            });
        }
    }
}
