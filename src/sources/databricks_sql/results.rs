//! Downloading a statement's result chunks from their external links.
//!
//! Links are presigned URLs of cloud storage: they get no `Authorization`
//! header (only the `http_headers` the link names) and expire (about 15
//! minutes). A link that has expired, or whose download fails, is fetched
//! afresh through `GET .../result/chunks/{n}` and the download retried.

use std::collections::HashMap;
use std::io::Cursor;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::ipc::reader::StreamReader;
use parking_lot::Mutex;
use serde::Deserialize;

use super::client::{DatabricksSqlClient, ExternalLink, StatementMetrics};
use crate::error::{Error, Result};
use crate::workspace::error_chain;

/// Downloads of one chunk before its failure is final.
const ATTEMPTS: usize = 4;

/// A link expiring sooner than this is fetched afresh before use.
const EXPIRY_MARGIN: Duration = Duration::from_secs(30);

/// The answer of `GET .../result/chunks/{n}`.
#[derive(Deserialize)]
struct ChunkResponse {
    #[serde(default)]
    external_links: Vec<ExternalLink>,
}

/// Fetches the chunks of one succeeded statement.
pub(crate) struct ChunkFetcher {
    client: DatabricksSqlClient,
    statement_id: String,
    /// Links that came with the statement's response, not yet used.
    known: Mutex<HashMap<usize, ExternalLink>>,
    metrics: StatementMetrics,
    started: Instant,
    first_batch: std::sync::Once,
}

impl ChunkFetcher {
    pub(crate) fn new(
        client: DatabricksSqlClient,
        statement_id: String,
        links: Vec<ExternalLink>,
        metrics: StatementMetrics,
        started: Instant,
    ) -> Self {
        Self {
            client,
            statement_id,
            known: Mutex::new(
                links
                    .into_iter()
                    .map(|link| (link.chunk_index, link))
                    .collect(),
            ),
            metrics,
            started,
            first_batch: std::sync::Once::new(),
        }
    }

    /// The batches of chunk `index`.
    pub(crate) async fn fetch(&self, index: usize) -> Result<Vec<RecordBatch>> {
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
        let path = format!(
            "api/2.0/sql/statements/{}/result/chunks/{index}",
            self.statement_id
        );
        let response: ChunkResponse = self.client.workspace().get(&path, &[]).await?;
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
        let corrupt = |err: &dyn std::error::Error| Error::Remote {
            endpoint: self.client.endpoint(),
            error_class: None,
            sql_state: None,
            message: format!("result chunk {index} is not an Arrow stream: {err}"),
        };
        let reader =
            StreamReader::try_new(Cursor::new(bytes), None).map_err(|err| corrupt(&err))?;
        let batches = reader
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|err| corrupt(&err))?;
        self.metrics.batches.add(batches.len());
        if !batches.is_empty() {
            self.first_batch.call_once(|| {
                self.metrics
                    .time_to_first_batch
                    .add_duration(self.started.elapsed())
            });
        }
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
