//! A Databricks workspace over REST: one HTTP client with the workspace's
//! authentication, timeouts and retries, shared by the sources that talk to
//! a workspace (Databricks SQL; Unity Catalog).
//!
//! - Every request carries `Authorization: Bearer ..` ([`auth`]) and a
//!   `User-Agent` naming lakefed and its version.
//! - `429 Too Many Requests` and `503 Service Unavailable` are retried after
//!   the server's `Retry-After` (else with exponential backoff), up to
//!   [`WorkspaceOptions::max_retries`] times; a `GET` is also retried when
//!   the connection fails, a `POST` (which may have been applied) is not.
//! - A refused request is [`Error::Remote`](crate::Error::Remote) with the workspace's
//!   `error_code` and message; a workspace that cannot be reached is
//!   [`Error::Unreachable`](crate::Error::Unreachable). Neither ever shows a token.

pub mod auth;
pub(crate) mod client;

use std::time::Duration;

pub(crate) use client::WorkspaceClient;

/// Timeouts and retries of a workspace's requests.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkspaceOptions {
    /// Time allowed to open a connection.
    pub connect_timeout: Duration,
    /// Time allowed for one request, body included.
    pub request_timeout: Duration,
    /// Retries of a request the workspace refused for load (429, 503) or,
    /// for reads, that could not reach it.
    pub max_retries: usize,
}

impl Default for WorkspaceOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(120),
            max_retries: 6,
        }
    }
}

/// An error and its causes, on one line.
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
