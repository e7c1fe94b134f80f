//! A Spark Connect client: one Spark session on one gRPC channel.
//!
//! Unary requests (schema, configuration, interrupt) are bounded by the
//! request timeout and retried with exponential backoff when the server is
//! UNAVAILABLE, and only then. Query results stream through
//! [`super::execute`], which resumes broken streams.

use std::sync::Arc;
use std::time::Duration;

use super::proto;
use super::proto::spark_connect_service_client::SparkConnectServiceClient;
use backon::{ExponentialBuilder, Retryable};
use datafusion::arrow::datatypes::SchemaRef;
use tokio::sync::OnceCell;
use tonic::metadata::{AsciiMetadataKey, AsciiMetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};
use tonic::{Code, Status};
use tonic_types::StatusExt;

use super::connection::{ConnectionString, Transport};
use super::types::arrow_schema;
use crate::background::BackgroundWork;
use crate::error::{Error, Result};

/// What lakefed calls itself in `client_type` and the HTTP/2 user agent.
pub(super) const CLIENT_TYPE: &str = concat!("lakefed/", env!("CARGO_PKG_VERSION"));

/// Spark sends Arrow batches of up to 128 MiB by default
/// (`spark.connect.grpc.arrow.maxBatchSize`); leave room above that.
const MAX_MESSAGE_SIZE: usize = 256 << 20;

/// Timeouts and retries of a Spark Connect client.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientOptions {
    /// How long establishing the TCP (and TLS) connection may take.
    pub connect_timeout: Duration,
    /// How long a request other than a query's result stream may take
    /// (schema lookups, configuration, interrupts).
    pub request_timeout: Duration,
    /// How many times a request, or a broken result stream, is retried when
    /// the server is unavailable.
    pub max_retries: usize,
    /// The first pause between retries; it doubles up to `max_backoff`.
    pub initial_backoff: Duration,
    /// The longest pause between retries.
    pub max_backoff: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(120),
            max_retries: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
        }
    }
}

type Grpc = SparkConnectServiceClient<InterceptedService<Channel, Headers>>;

/// A client of one Spark Connect server, holding one Spark session.
///
/// Cheap to clone: clones share the channel and the session. The channel
/// connects on first use, so creating a client never fails because the
/// server is down; the first request does, with [`Error::Unreachable`].
#[derive(Clone)]
pub struct SparkConnectClient {
    inner: Arc<Inner>,
}

struct Inner {
    grpc: Grpc,
    /// `sc://host:port`, without parameters: safe for errors and EXPLAIN.
    endpoint: String,
    session_id: String,
    /// Whether this client created the session (and ends it when dropped),
    /// rather than joining one named in the connection string.
    owns_session: bool,
    user_context: proto::UserContext,
    client_type: String,
    options: ClientOptions,
    time_zone: OnceCell<String>,
    background: BackgroundWork,
}

impl SparkConnectClient {
    /// A client for the server a connection string names, whose background
    /// requests run on the caller's runtime (an error outside one). No
    /// request is sent until the first query.
    pub fn new(connection: &ConnectionString, options: ClientOptions) -> Result<Self> {
        Self::with_background(connection, options, BackgroundWork::current()?)
    }

    /// A client whose connections and background requests (interrupts,
    /// releases, the end of its session) run as `background`.
    pub fn with_background(
        connection: &ConnectionString,
        options: ClientOptions,
        background: BackgroundWork,
    ) -> Result<Self> {
        let endpoint = connection.to_string();
        let client_type = match &connection.user_agent {
            Some(agent) => format!("{agent} {CLIENT_TYPE}"),
            None => CLIENT_TYPE.to_string(),
        };
        let channel = channel(connection, &options, &client_type, &background)?;
        let grpc = SparkConnectServiceClient::with_interceptor(channel, Headers::new(connection)?)
            .max_decoding_message_size(MAX_MESSAGE_SIZE)
            .max_encoding_message_size(MAX_MESSAGE_SIZE);
        let owns_session = connection.session_id.is_none();
        let session_id = connection
            .session_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let user_id = connection
            .user_id
            .clone()
            .unwrap_or_else(|| "lakefed".to_string());
        Ok(Self {
            inner: Arc::new(Inner {
                grpc,
                endpoint,
                session_id,
                owns_session,
                user_context: proto::UserContext {
                    user_id,
                    ..Default::default()
                },
                client_type,
                options,
                time_zone: OnceCell::new(),
                background,
            }),
        })
    }

    /// The server, as `sc://host:port` (no parameters, no token).
    pub fn endpoint(&self) -> &str {
        &self.inner.endpoint
    }

    /// The Spark session this client runs its queries in.
    pub fn session_id(&self) -> &str {
        &self.inner.session_id
    }

    /// The Spark version the server runs.
    pub async fn spark_version(&self) -> Result<String> {
        let request = self.analyze_request(proto::analyze_plan_request::Analyze::SparkVersion(
            Default::default(),
        ));
        let response = self
            .unary(|mut grpc| {
                let request = request.clone();
                async move { grpc.analyze_plan(request).await }
            })
            .await?;
        match response.result {
            Some(proto::analyze_plan_response::Result::SparkVersion(version)) => {
                Ok(version.version)
            }
            _ => Err(self.protocol_error("AnalyzePlan(spark_version) answered without a version")),
        }
    }

    /// The session time zone (`spark.sql.session.timeZone`): the zone of
    /// every `TIMESTAMP` value the server sends. Asked once per client.
    pub async fn session_time_zone(&self) -> Result<String> {
        self.inner
            .time_zone
            .get_or_try_init(|| async {
                let values = self.get_config(&["spark.sql.session.timeZone"]).await?;
                values
                    .into_iter()
                    .next()
                    .flatten()
                    .ok_or_else(|| self.protocol_error("the server has no session time zone"))
            })
            .await
            .cloned()
    }

    /// Values of Spark configuration keys in this session (`None` when unset).
    pub async fn get_config(&self, keys: &[&str]) -> Result<Vec<Option<String>>> {
        let request = proto::ConfigRequest {
            session_id: self.inner.session_id.clone(),
            user_context: Some(self.inner.user_context.clone()),
            client_type: Some(self.inner.client_type.clone()),
            operation: Some(proto::config_request::Operation {
                op_type: Some(proto::config_request::operation::OpType::GetOption(
                    proto::config_request::GetOption {
                        keys: keys.iter().map(|key| key.to_string()).collect(),
                    },
                )),
            }),
            ..Default::default()
        };
        let response = self
            .unary(|mut grpc| {
                let request = request.clone();
                async move { grpc.config(request).await }
            })
            .await?;
        Ok(response.pairs.into_iter().map(|pair| pair.value).collect())
    }

    /// The Arrow schema of the result of a Spark SQL query, from the
    /// server's analysis (the query does not run).
    pub async fn schema(&self, sql: &str) -> Result<SchemaRef> {
        let request = self.analyze_request(proto::analyze_plan_request::Analyze::Schema(
            proto::analyze_plan_request::Schema {
                plan: Some(sql_plan(sql)),
            },
        ));
        let response = self
            .unary(|mut grpc| {
                let request = request.clone();
                async move { grpc.analyze_plan(request).await }
            })
            .await?;
        let Some(proto::analyze_plan_response::Result::Schema(schema)) = response.result else {
            return Err(self.protocol_error("AnalyzePlan(schema) answered without a schema"));
        };
        let data_type = schema
            .schema
            .ok_or_else(|| self.protocol_error("AnalyzePlan(schema) answered an empty schema"))?;
        let time_zone = self.session_time_zone().await?;
        Ok(Arc::new(arrow_schema(&data_type, &time_zone)?))
    }

    /// Interrupts every running operation of this client's session and
    /// returns the ids of the operations that were still running.
    pub async fn interrupt_all(&self) -> Result<Vec<String>> {
        self.interrupt(proto::interrupt_request::InterruptType::All, None)
            .await
    }

    /// Interrupts one operation; returns the ids that were still running.
    pub(super) async fn interrupt_operation(&self, operation_id: &str) -> Result<Vec<String>> {
        self.interrupt(
            proto::interrupt_request::InterruptType::OperationId,
            Some(proto::interrupt_request::Interrupt::OperationId(
                operation_id.to_string(),
            )),
        )
        .await
    }

    async fn interrupt(
        &self,
        kind: proto::interrupt_request::InterruptType,
        interrupt: Option<proto::interrupt_request::Interrupt>,
    ) -> Result<Vec<String>> {
        let request = proto::InterruptRequest {
            session_id: self.inner.session_id.clone(),
            user_context: Some(self.inner.user_context.clone()),
            client_type: Some(self.inner.client_type.clone()),
            interrupt_type: kind as i32,
            interrupt,
            ..Default::default()
        };
        let response = self
            .unary(|mut grpc| {
                let request = request.clone();
                async move { grpc.interrupt(request).await }
            })
            .await?;
        Ok(response.interrupted_ids)
    }

    /// Lets the server drop the buffered responses of an operation up to
    /// `response_id` (all of them when `None`). Best effort, in the background.
    pub(super) fn release(&self, operation_id: &str, response_id: Option<String>) {
        use proto::release_execute_request::{Release, ReleaseAll, ReleaseUntil};
        let request = proto::ReleaseExecuteRequest {
            session_id: self.inner.session_id.clone(),
            user_context: Some(self.inner.user_context.clone()),
            operation_id: operation_id.to_string(),
            client_type: Some(self.inner.client_type.clone()),
            release: Some(match response_id {
                Some(response_id) => Release::ReleaseUntil(ReleaseUntil { response_id }),
                None => Release::ReleaseAll(ReleaseAll {}),
            }),
            ..Default::default()
        };
        let mut grpc = self.grpc();
        let timeout = self.inner.options.request_timeout;
        self.inner.background.spawn(async move {
            // Unreleased responses are freed by the server when the
            // operation ends; a failed release costs only server memory.
            let _ = tokio::time::timeout(timeout, grpc.release_execute(request)).await;
        });
    }

    /// Starts a query: an `ExecutePlan` that the server keeps reattachable.
    pub(super) async fn start_execute(
        &self,
        sql: &str,
        operation_id: &str,
    ) -> Result<tonic::Streaming<proto::ExecutePlanResponse>, Status> {
        let request = proto::ExecutePlanRequest {
            session_id: self.inner.session_id.clone(),
            user_context: Some(self.inner.user_context.clone()),
            operation_id: Some(operation_id.to_string()),
            plan: Some(sql_plan(sql)),
            client_type: Some(self.inner.client_type.clone()),
            request_options: vec![proto::execute_plan_request::RequestOption {
                request_option: Some(
                    proto::execute_plan_request::request_option::RequestOption::ReattachOptions(
                        proto::ReattachOptions { reattachable: true },
                    ),
                ),
            }],
            tags: vec!["lakefed".to_string()],
            ..Default::default()
        };
        self.open_stream(self.grpc().execute_plan(request)).await
    }

    /// Resumes a query's result stream after `last_response_id`.
    pub(super) async fn reattach(
        &self,
        operation_id: &str,
        last_response_id: Option<String>,
    ) -> Result<tonic::Streaming<proto::ExecutePlanResponse>, Status> {
        let request = proto::ReattachExecuteRequest {
            session_id: self.inner.session_id.clone(),
            user_context: Some(self.inner.user_context.clone()),
            operation_id: operation_id.to_string(),
            client_type: Some(self.inner.client_type.clone()),
            last_response_id,
            ..Default::default()
        };
        self.open_stream(self.grpc().reattach_execute(request))
            .await
    }

    /// Waits for a stream's response headers, no longer than the request
    /// timeout (a server that accepts the connection but never answers).
    async fn open_stream(
        &self,
        call: impl Future<
            Output = Result<tonic::Response<tonic::Streaming<proto::ExecutePlanResponse>>, Status>,
        >,
    ) -> Result<tonic::Streaming<proto::ExecutePlanResponse>, Status> {
        within(self.inner.options.request_timeout, call).await
    }

    /// The backoff between retries, as configured.
    pub(super) fn backoff(&self) -> ExponentialBuilder {
        let options = &self.inner.options;
        ExponentialBuilder::default()
            .with_min_delay(options.initial_backoff)
            .with_max_delay(options.max_backoff)
            .with_max_times(options.max_retries)
            .with_jitter()
    }

    /// Runs a unary request with the request timeout, retrying while the
    /// server is unavailable.
    async fn unary<T, F, Fut>(&self, mut call: F) -> Result<T>
    where
        F: FnMut(Grpc) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, Status>>,
    {
        let timeout = self.inner.options.request_timeout;
        let attempt = || within(timeout, call(self.grpc()));
        attempt
            .retry(self.backoff())
            .when(is_unavailable)
            .await
            .map_err(|status| self.error(status))
    }

    fn grpc(&self) -> Grpc {
        self.inner.grpc.clone()
    }

    /// Where the client's background requests run.
    pub(super) fn background(&self) -> &BackgroundWork {
        &self.inner.background
    }

    fn analyze_request(
        &self,
        analyze: proto::analyze_plan_request::Analyze,
    ) -> proto::AnalyzePlanRequest {
        proto::AnalyzePlanRequest {
            session_id: self.inner.session_id.clone(),
            user_context: Some(self.inner.user_context.clone()),
            client_type: Some(self.inner.client_type.clone()),
            analyze: Some(analyze),
            ..Default::default()
        }
    }

    /// The lakefed error for a gRPC status from this server.
    pub(super) fn error(&self, status: Status) -> Error {
        let endpoint = format!("Spark Connect server {}", self.inner.endpoint);
        match status.code() {
            Code::Unavailable | Code::DeadlineExceeded => Error::Unreachable {
                endpoint,
                message: describe_transport_error(&status),
            },
            _ => {
                let metadata = status
                    .get_details_error_info()
                    .map(|info| info.metadata)
                    .unwrap_or_default();
                let error_class = metadata
                    .get("errorClass")
                    .cloned()
                    .or_else(|| error_class_in(status.message()));
                Error::Remote {
                    endpoint,
                    error_class,
                    sql_state: metadata.get("sqlState").cloned(),
                    message: status.message().to_string(),
                }
            }
        }
    }

    /// An answer that breaks the protocol.
    pub(super) fn protocol_error(&self, message: &str) -> Error {
        Error::Remote {
            endpoint: format!("Spark Connect server {}", self.inner.endpoint),
            error_class: None,
            sql_state: None,
            message: message.to_string(),
        }
    }
}

impl std::fmt::Debug for SparkConnectClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SparkConnectClient")
            .field("endpoint", &self.inner.endpoint)
            .field("session_id", &self.inner.session_id)
            .finish()
    }
}

impl Drop for Inner {
    /// Ends the Spark session this client created, so the server frees it
    /// now rather than after its idle timeout. A session named in the
    /// connection string is left alone: others may share it.
    fn drop(&mut self) {
        if !self.owns_session {
            return;
        }
        let request = proto::ReleaseSessionRequest {
            session_id: self.session_id.clone(),
            user_context: Some(self.user_context.clone()),
            client_type: Some(self.client_type.clone()),
            ..Default::default()
        };
        let mut grpc = self.grpc.clone();
        let timeout = self.options.request_timeout;
        self.background.spawn(async move {
            let _ = tokio::time::timeout(timeout, grpc.release_session(request)).await;
        });
    }
}

/// The error class a message names as `[CLASS]` or `[CLASS.SUBCLASS]`, for
/// servers that send no `ErrorInfo` (Sail).
fn error_class_in(message: &str) -> Option<String> {
    message.match_indices('[').find_map(|(start, _)| {
        let rest = &message[start + 1..];
        let class = &rest[..rest.find(']')?];
        let well_formed = !class.is_empty()
            && class
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' || c == '.');
        well_formed.then(|| class.to_string())
    })
}

/// A plan whose root is a Spark SQL query.
fn sql_plan(sql: &str) -> proto::Plan {
    proto::Plan {
        op_type: Some(proto::plan::OpType::Root(proto::Relation {
            common: None,
            rel_type: Some(proto::relation::RelType::Sql(proto::Sql {
                query: sql.to_string(),
                ..Default::default()
            })),
        })),
    }
}

/// A response's message, or DEADLINE_EXCEEDED when none comes within `timeout`.
async fn within<T>(
    timeout: Duration,
    call: impl Future<Output = Result<tonic::Response<T>, Status>>,
) -> Result<T, Status> {
    match tokio::time::timeout(timeout, call).await {
        Ok(response) => response.map(tonic::Response::into_inner),
        Err(_) => Err(Status::deadline_exceeded(format!(
            "no answer within {}s",
            timeout.as_secs_f64()
        ))),
    }
}

/// Whether a request may be retried: the server could not be reached (or
/// dropped the connection) before it saw the request.
pub(super) fn is_unavailable(status: &Status) -> bool {
    status.code() == Code::Unavailable
}

/// A status's message with the transport error behind it ("Connection
/// refused"), which tonic keeps as the status's source.
fn describe_transport_error(status: &Status) -> String {
    let mut message = status.message().to_string();
    let mut source = std::error::Error::source(status);
    while let Some(err) = source {
        let text = err.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = err.source();
    }
    message
}

/// The gRPC channel: plaintext or TLS (rustls with the Web PKI roots), the
/// connect timeout, keepalive as the connection string asks. The channel's
/// tasks live on the runtime of `background`.
fn channel(
    connection: &ConnectionString,
    options: &ClientOptions,
    user_agent: &str,
    background: &BackgroundWork,
) -> Result<Channel> {
    let invalid = |err: tonic::transport::Error| {
        Error::InvalidArgument(format!("Spark Connect server {connection}: {err}"))
    };
    let mut endpoint = Endpoint::from_shared(connection.endpoint_uri())
        .map_err(invalid)?
        .connect_timeout(options.connect_timeout)
        .user_agent(user_agent.to_string())
        .map_err(invalid)?;
    if connection.transport() == Transport::Tls {
        let host = connection
            .host
            .trim_start_matches('[')
            .trim_end_matches(']');
        endpoint = endpoint
            .tls_config(
                ClientTlsConfig::new()
                    .with_webpki_roots()
                    .domain_name(host.to_string()),
            )
            .map_err(invalid)?;
    }
    let keepalive = connection.keepalive;
    if keepalive.enabled.unwrap_or(keepalive.time_ms.is_some()) {
        endpoint = endpoint
            .http2_keep_alive_interval(Duration::from_millis(keepalive.time_ms.unwrap_or(10_000)))
            .keep_alive_timeout(Duration::from_millis(
                keepalive.timeout_ms.unwrap_or(20_000),
            ))
            .keep_alive_while_idle(keepalive.without_calls.unwrap_or(false));
    }
    let _runtime = background.enter();
    Ok(endpoint.connect_lazy())
}

/// The metadata every request carries: the bearer token and the connection
/// string's extra parameters.
#[derive(Clone)]
struct Headers(Arc<Vec<(AsciiMetadataKey, AsciiMetadataValue)>>);

impl Headers {
    fn new(connection: &ConnectionString) -> Result<Self> {
        let mut headers = Vec::new();
        if let Some(token) = &connection.token {
            let mut value = AsciiMetadataValue::try_from(format!("Bearer {}", token.expose()))
                .map_err(|_| {
                    Error::InvalidArgument(format!(
                        "Spark Connect server {connection}: the token has characters a gRPC header cannot carry"
                    ))
                })?;
            value.set_sensitive(true);
            headers.push((AsciiMetadataKey::from_static("authorization"), value));
        }
        for (key, value) in &connection.metadata {
            let bad = || {
                Error::InvalidArgument(format!(
                    "Spark Connect server {connection}: parameter '{key}' cannot be sent as a gRPC header"
                ))
            };
            let key = AsciiMetadataKey::from_bytes(key.to_ascii_lowercase().as_bytes())
                .map_err(|_| bad())?;
            let value = AsciiMetadataValue::try_from(value.as_str()).map_err(|_| bad())?;
            headers.push((key, value));
        }
        Ok(Self(Arc::new(headers)))
    }
}

impl Interceptor for Headers {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, Status> {
        for (key, value) in self.0.iter() {
            request.metadata_mut().insert(key.clone(), value.clone());
        }
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_classes_are_read_from_messages() {
        assert_eq!(
            error_class_in("Table not found: [TABLE_OR_VIEW_NOT_FOUND] Table or view not found: t"),
            Some("TABLE_OR_VIEW_NOT_FOUND".to_string())
        );
        assert_eq!(
            error_class_in("[INVALID_HANDLE.SESSION_NOT_FOUND] gone"),
            Some("INVALID_HANDLE.SESSION_NOT_FOUND".to_string())
        );
        assert_eq!(error_class_in("value [1, 2] is not [a-z]"), None);
    }
}
