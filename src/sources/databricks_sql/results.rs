//! Fetching a statement's result chunks.
//!
//! Results are asked for as Arrow behind external links. Links are
//! presigned URLs of cloud storage: they get no `Authorization` header (only
//! the `http_headers` the link names) and expire (about 15 minutes). A link
//! that has expired, or whose download fails, is fetched afresh through
//! `GET .../result/chunks/{n}` and the download retried.
//!
//! Warehouses that refuse external links (`NOT_IMPLEMENTED`) get `INLINE`
//! requests: Arrow in the chunk's `attachment` where the warehouse accepts
//! that, else `JSON_ARRAY` rows ([`json_rows`](super::json_rows)). Inline
//! chunks after the first come from `GET .../result/chunks/{n}` too.

use std::collections::HashMap;
use std::io::Cursor;
use std::time::{Duration, Instant};

use base64::Engine as _;
use chrono::{DateTime, Utc};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::ipc::reader::StreamReader;
use parking_lot::Mutex;

use super::client::{DatabricksSqlClient, ExternalLink, ResultData, StatementMetrics};
use super::json_rows;
use crate::error::{Error, Result};
use crate::workspace::error_chain;

/// Downloads of one chunk before its failure is final.
const ATTEMPTS: usize = 4;

/// A link expiring sooner than this is fetched afresh before use.
const EXPIRY_MARGIN: Duration = Duration::from_secs(30);

/// How a statement's result is delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ResultMode {
    /// Arrow IPC streams behind presigned links (the default).
    ExternalLinks,
    /// Arrow IPC streams inline, base64-encoded.
    InlineArrow,
    /// Rows of strings inline.
    InlineJson,
}

impl ResultMode {
    /// The request's `disposition` and `format`.
    pub(crate) fn disposition_and_format(self) -> (&'static str, &'static str) {
        match self {
            Self::ExternalLinks => ("EXTERNAL_LINKS", "ARROW_STREAM"),
            Self::InlineArrow => ("INLINE", "ARROW_STREAM"),
            Self::InlineJson => ("INLINE", "JSON_ARRAY"),
        }
    }

    /// The mode to try next when a warehouse refused a statement in this
    /// one with `err`: external links refused as `NOT_IMPLEMENTED`, then
    /// inline Arrow refused as a `BAD_REQUEST` about the format (the
    /// reference allows only `JSON_ARRAY` inline; some warehouses want
    /// Arrow there).
    pub(crate) fn fallback(self, err: &Error) -> Option<Self> {
        let Error::Remote {
            error_class: Some(code),
            message,
            ..
        } = err
        else {
            return None;
        };
        let about_the_format = message.contains("format") || message.contains("ARROW_STREAM");
        match (self, code.as_str()) {
            (Self::ExternalLinks, "NOT_IMPLEMENTED") => Some(Self::InlineArrow),
            (Self::InlineArrow, "BAD_REQUEST" | "INVALID_PARAMETER_VALUE") if about_the_format => {
                Some(Self::InlineJson)
            }
            _ => None,
        }
    }
}

/// Fetches the chunks of one succeeded statement.
pub(crate) struct ChunkFetcher {
    client: DatabricksSqlClient,
    statement_id: String,
    mode: ResultMode,
    /// Links that came with the statement's response, not yet used.
    known: Mutex<HashMap<usize, ExternalLink>>,
    /// The inline chunk that came with the statement's response, not yet used.
    first: Mutex<Option<ResultData>>,
    /// The manifest's schema: it types `JSON_ARRAY` values, and the Arrow
    /// columns that arrive as text.
    manifest_schema: Option<SchemaRef>,
    metrics: StatementMetrics,
    started: Instant,
    first_batch: std::sync::Once,
}

impl ChunkFetcher {
    pub(crate) fn new(
        client: DatabricksSqlClient,
        statement_id: String,
        mode: ResultMode,
        first: Option<ResultData>,
        manifest_schema: Option<SchemaRef>,
        metrics: StatementMetrics,
        started: Instant,
    ) -> Self {
        let mut first = first.unwrap_or_default();
        let links = std::mem::take(&mut first.external_links);
        // Inline data that came with the response; else chunk 0 is fetched.
        let first = (first.data_array.is_some() || first.attachment.is_some()).then_some(first);
        Self {
            client,
            statement_id,
            mode,
            known: Mutex::new(
                links
                    .into_iter()
                    .map(|link| (link.chunk_index, link))
                    .collect(),
            ),
            first: Mutex::new(first),
            manifest_schema,
            metrics,
            started,
            first_batch: std::sync::Once::new(),
        }
    }

    /// The batches of chunk `index`.
    pub(crate) async fn fetch(&self, index: usize) -> Result<Vec<RecordBatch>> {
        match self.mode {
            ResultMode::ExternalLinks => self.fetch_linked(index).await,
            ResultMode::InlineArrow | ResultMode::InlineJson => {
                let data = self.inline(index).await?;
                self.decode_inline(index, data)
            }
        }
    }

    /// The inline data of chunk `index`.
    async fn inline(&self, index: usize) -> Result<ResultData> {
        let first = {
            let mut first = self.first.lock();
            first.take_if(|data| data.chunk_index.unwrap_or(0) == index)
        };
        if let Some(data) = first {
            return Ok(data);
        }
        self.client
            .workspace()
            .get(&self.chunk_path(index), &[])
            .await
    }

    fn decode_inline(&self, index: usize, data: ResultData) -> Result<Vec<RecordBatch>> {
        self.metrics.chunks.add(1);
        if let Some(attachment) = data.attachment {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(attachment.as_bytes())
                .map_err(|err| {
                    self.corrupt(index, format!("its attachment is not base64 ({err})"))
                })?;
            self.metrics.bytes.add(bytes.len());
            return self.decode(index, bytes.into());
        }
        let (Some(schema), ResultMode::InlineJson) = (&self.manifest_schema, self.mode) else {
            return Err(self.corrupt(index, "it has no Arrow attachment".to_string()));
        };
        // A chunk without rows may leave `data_array` out.
        let rows = data.data_array.unwrap_or_default();
        let batch = json_rows::decode(schema, &rows).map_err(|err| self.corrupt(index, err))?;
        self.record_batches(usize::from(batch.num_rows() > 0));
        Ok(vec![batch])
    }

    fn chunk_path(&self, index: usize) -> String {
        format!(
            "api/2.0/sql/statements/{}/result/chunks/{index}",
            self.statement_id
        )
    }

    fn corrupt(&self, index: usize, message: String) -> Error {
        Error::Remote {
            endpoint: self.client.endpoint(),
            error_class: None,
            sql_state: None,
            message: format!("result chunk {index} cannot be read: {message}"),
        }
    }

    /// Counts `count` decoded batches; the first count above zero stops the
    /// clock of `time_to_first_batch`.
    fn record_batches(&self, count: usize) {
        self.metrics.batches.add(count);
        if count > 0 {
            self.first_batch.call_once(|| {
                self.metrics
                    .time_to_first_batch
                    .add_duration(self.started.elapsed())
            });
        }
    }

    /// The batches of chunk `index`, downloaded from its external link.
    async fn fetch_linked(&self, index: usize) -> Result<Vec<RecordBatch>> {
        let mut last_error = None;
        for attempt in 0..ATTEMPTS {
            let known = self.known.lock().remove(&index);
            let link = match known.filter(|link| !expires_soon(link)) {
                Some(link) => link,
                None => {
                    if attempt > 0 {
                        self.metrics.link_refreshes.add(1);
                    }
                    self.link(index).await?
                }
            };
            match self.download(&link).await {
                Ok(bytes) => {
                    self.metrics.chunks.add(1);
                    return self.decode(index, bytes);
                }
                Err(err) => {
                    last_error = Some(err);
                    tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
                }
            }
        }
        Err(Error::Unreachable {
            endpoint: self.client.endpoint(),
            message: format!(
                "cannot download result chunk {index} of statement {}: {}",
                self.statement_id,
                last_error.unwrap_or_default()
            ),
        })
    }

    /// A fresh link to chunk `index`.
    async fn link(&self, index: usize) -> Result<ExternalLink> {
        let response: ResultData = self
            .client
            .workspace()
            .get(&self.chunk_path(index), &[])
            .await?;
        response
            .external_links
            .into_iter()
            .find(|link| link.chunk_index == index)
            .ok_or_else(|| Error::Remote {
                endpoint: self.client.endpoint(),
                error_class: None,
                sql_state: None,
                message: format!("the answer for result chunk {index} has no link to it"),
            })
    }

    /// The bytes behind `link`, or what went wrong (never the link itself,
    /// whose query string is a credential).
    async fn download(&self, link: &ExternalLink) -> std::result::Result<bytes::Bytes, String> {
        let mut request = self.client.workspace().http().get(&link.external_link);
        for (name, value) in &link.http_headers {
            request = request.header(name, value);
        }
        // reqwest's errors name the URL: a presigned link's signature.
        let response = request
            .send()
            .await
            .map_err(|err| error_chain(&err.without_url()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("the storage answered {status}"));
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|err| error_chain(&err.without_url()))?;
        self.metrics.bytes.add(bytes.len());
        Ok(bytes)
    }

    /// The Arrow batches of a chunk's IPC stream.
    fn decode(&self, index: usize, bytes: bytes::Bytes) -> Result<Vec<RecordBatch>> {
        let corrupt = |err: &dyn std::error::Error| {
            self.corrupt(index, format!("it is not an Arrow stream ({err})"))
        };
        let reader =
            StreamReader::try_new(Cursor::new(bytes), None).map_err(|err| corrupt(&err))?;
        let mut batches = reader
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|err| corrupt(&err))?;
        if let Some(manifest) = &self.manifest_schema {
            batches = batches
                .into_iter()
                .map(|batch| json_rows::decode_text_columns(manifest, batch))
                .collect::<std::result::Result<_, _>>()
                .map_err(|err| self.corrupt(index, err))?;
        }
        self.record_batches(batches.len());
        Ok(batches)
    }
}

/// Whether `link` expires within [`EXPIRY_MARGIN`] (by its `expiration`).
fn expires_soon(link: &ExternalLink) -> bool {
    let Some(expiration) = &link.expiration else {
        return false;
    };
    match DateTime::parse_from_rfc3339(expiration) {
        Ok(at) => {
            let margin = chrono::Duration::from_std(EXPIRY_MARGIN).unwrap_or_default();
            at.with_timezone(&Utc) - margin <= Utc::now()
        }
        Err(_) => false,
    }
}
