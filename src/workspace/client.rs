//! The REST client of one Databricks workspace (or Unity Catalog server):
//! authentication, retries with backoff, `Retry-After`, error bodies.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use url::Url;

use super::auth::{AuthConfig, Authenticator};
use super::{WorkspaceOptions, error_chain};
use crate::error::{Error, Result};

/// A client of one Databricks workspace (cheap to clone).
#[derive(Clone)]
pub struct WorkspaceClient {
    inner: Arc<Inner>,
}

struct Inner {
    host: Url,
    http: reqwest::Client,
    auth: Authenticator,
    options: WorkspaceOptions,
}

impl fmt::Debug for WorkspaceClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkspaceClient")
            .field("host", &self.inner.host.as_str())
            .field("auth", &self.inner.auth.method())
            .finish()
    }
}

/// The error body of a Databricks REST API.
#[derive(Deserialize)]
struct ErrorBody {
    error_code: Option<String>,
    message: Option<String>,
}

impl WorkspaceClient {
    /// A client of the workspace `auth` names (resolved against the
    /// environment and the config file), authenticating as it says.
    pub fn new(auth: &AuthConfig, options: WorkspaceOptions) -> Result<Self> {
        let auth = auth.resolve()?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("lakefed/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(options.connect_timeout)
            .timeout(options.request_timeout)
            .build()
            .map_err(|err| Error::InvalidArgument(format!("cannot build an HTTP client: {err}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                host: auth.host,
                http,
                auth: Authenticator::new(auth.credentials),
                options,
            }),
        })
    }

    /// The workspace URL.
    pub fn host(&self) -> &Url {
        &self.inner.host
    }

    /// How the client authenticates (no secret), for messages.
    pub fn auth_method(&self) -> &'static str {
        self.inner.auth.method()
    }

    /// The plain HTTP client, without the workspace's authentication: for
    /// presigned links, which must not get the workspace's token.
    pub fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// A key that is equal for clones of this client and differs between
    /// clients (two identities never share it).
    pub fn identity_key(&self) -> String {
        format!("{}@{:p}", self.inner.host, Arc::as_ptr(&self.inner))
    }

    /// `GET path?query` as JSON.
    pub async fn get<T: DeserializeOwned>(&self, path: &str, query: &[(&str, &str)]) -> Result<T> {
        let url = self.url(path)?;
        self.send(Method::GET, |http| http.get(url.clone()).query(query))
            .await
    }

    /// `POST path` with a JSON body, as JSON.
    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<T> {
        let url = self.url(path)?;
        let body =
            serde_json::to_vec(body).map_err(|err| Error::InvalidArgument(err.to_string()))?;
        self.send(Method::POST, |http| {
            http.post(url.clone())
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone())
        })
        .await
    }

    fn url(&self, path: &str) -> Result<Url> {
        self.inner
            .host
            .join(path.trim_start_matches('/'))
            .map_err(|err| Error::InvalidArgument(format!("bad request path {path}: {err}")))
    }

    /// Sends the request `build` makes, authenticated, with retries.
    async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<T> {
        let inner = &self.inner;
        let mut backoff = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(200))
            .with_max_delay(Duration::from_secs(10))
            .with_max_times(inner.options.max_retries)
            .with_jitter()
            .build();
        loop {
            let token = inner.auth.bearer(&inner.http, &inner.host).await?;
            let outcome = build(&inner.http).bearer_auth(token.expose()).send().await;
            let response = match outcome {
                Ok(response) => response,
                Err(err) => {
                    let retry = method == Method::GET && !err.is_builder();
                    match backoff.next().filter(|_| retry) {
                        Some(delay) => {
                            tokio::time::sleep(delay).await;
                            continue;
                        }
                        None => return Err(self.unreachable(&err)),
                    }
                }
            };
            let status = response.status();
            if matches!(
                status,
                StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
            ) && let Some(delay) = backoff.next()
            {
                let delay = retry_after(&response).unwrap_or(delay);
                tokio::time::sleep(delay).await;
                continue;
            }
            let body = response
                .bytes()
                .await
                .map_err(|err| self.unreachable(&err))?;
            if !status.is_success() {
                return Err(self.refused(status, &body));
            }
            return serde_json::from_slice(&body).map_err(|err| Error::Remote {
                endpoint: inner.host.to_string(),
                error_class: None,
                sql_state: None,
                message: format!("unexpected answer ({err})"),
            });
        }
    }

    fn unreachable(&self, err: &reqwest::Error) -> Error {
        let what = if err.is_timeout() {
            "the request timed out"
        } else if err.is_connect() {
            "cannot connect"
        } else {
            "the request failed"
        };
        Error::Unreachable {
            endpoint: self.inner.host.to_string(),
            message: format!("{what}: {}", error_chain(err)),
        }
    }

    /// The error for a response with a failure status.
    fn refused(&self, status: StatusCode, body: &[u8]) -> Error {
        let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
        let (error_code, message) = match parsed {
            Some(ErrorBody {
                error_code,
                message,
            }) => (error_code, message),
            None => (None, None),
        };
        let message =
            message.unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(300).collect());
        let hint = match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => format!(
                " (authenticated with a {}; check the credentials)",
                self.auth_method()
            ),
            _ => String::new(),
        };
        Error::Remote {
            endpoint: self.inner.host.to_string(),
            error_class: error_code.or_else(|| Some(status.as_str().to_string())),
            sql_state: None,
            message: format!("{status}: {message}{hint}"),
        }
    }
}

/// The delay a `Retry-After` header asks for, in seconds.
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let seconds = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(Duration::from_secs(seconds.min(60)))
}
