//! Spark Connect connection strings: `sc://host[:port]/;param=value;...`,
//! parsed as Spark's own clients do (pyspark's `ChannelBuilder`).
//!
//! Known parameters: `token` (bearer token; it also makes the channel TLS,
//! except on `localhost` without `use_ssl=true`), `use_ssl`, `user_id`,
//! `user_agent`, `session_id` (a UUID), and the `grpc_keepalive_*` options.
//! Any other parameter travels as a gRPC metadata header (Databricks uses
//! `x-databricks-cluster-id`). Values are percent-decoded.

use std::fmt;
use std::str::FromStr;

use percent_encoding::percent_decode_str;
use url::Url;

use crate::error::{Error, Result};
use crate::secret::Secret;

/// The port a Spark Connect server listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 15002;

/// The environment variable Spark's clients read a token from when the
/// connection string has none.
pub const TOKEN_ENV: &str = "SPARK_CONNECT_AUTHENTICATE_TOKEN";

/// How the gRPC channel is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Transport {
    /// Plain HTTP/2, no token.
    Plaintext,
    /// Plain HTTP/2 to `localhost` carrying a token (Spark's "local" credentials).
    LocalWithToken,
    /// TLS.
    Tls,
}

/// gRPC keepalive settings from the `grpc_keepalive_*` parameters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Keepalive {
    /// `grpc_keepalive_enabled`
    pub enabled: Option<bool>,
    /// `grpc_keepalive_time_ms`
    pub time_ms: Option<u64>,
    /// `grpc_keepalive_timeout_ms`
    pub timeout_ms: Option<u64>,
    /// `grpc_keepalive_without_calls`
    pub without_calls: Option<bool>,
}

/// A parsed `sc://` connection string.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectionString {
    /// Host name, or an IPv6 address in brackets.
    pub host: String,
    /// Port, [`DEFAULT_PORT`] when absent.
    pub port: u16,
    /// Bearer token, sent as `authorization: Bearer <token>`.
    pub token: Option<Secret>,
    /// `use_ssl=true`.
    pub use_ssl: bool,
    /// `user_id`, sent in the user context of every request.
    pub user_id: Option<String>,
    /// `user_agent`, prepended to lakefed's own.
    pub user_agent: Option<String>,
    /// `session_id`: join an existing server session.
    pub session_id: Option<String>,
    /// Keepalive options.
    pub keepalive: Keepalive,
    /// Every other parameter, sent as gRPC metadata.
    pub metadata: Vec<(String, String)>,
}

impl ConnectionString {
    /// Parses a connection string; a missing token is not read from the environment.
    pub fn parse(text: &str) -> Result<Self> {
        let invalid = |why: String| {
            Error::InvalidArgument(format!(
                "invalid Spark Connect connection string '{}': {why}",
                redact_params(text)
            ))
        };
        let rest = text.strip_prefix("sc://").ok_or_else(|| {
            invalid("it must start with sc://, e.g. sc://localhost:15002".to_string())
        })?;
        let (authority_and_path, params) = rest.split_once(';').unwrap_or((rest, ""));
        if authority_and_path.is_empty() || authority_and_path.starts_with(['/', ':']) {
            return Err(invalid("the host name is missing".to_string()));
        }
        let url = Url::parse(&format!("http://{authority_and_path}"))
            .map_err(|err| invalid(err.to_string()))?;
        if !matches!(url.path(), "" | "/") {
            return Err(invalid(format!("the path '{}' must be empty", url.path())));
        }
        if !url.username().is_empty() || url.password().is_some() || url.query().is_some() {
            return Err(invalid(
                "use ;token=... for credentials, not user:password@ or ?".to_string(),
            ));
        }
        let host = match url.host_str() {
            Some(host) if !host.is_empty() => host.to_string(),
            _ => return Err(invalid("the host name is missing".to_string())),
        };
        let mut parsed = Self {
            host,
            port: url.port().unwrap_or(DEFAULT_PORT),
            token: None,
            use_ssl: false,
            user_id: None,
            user_agent: None,
            session_id: None,
            keepalive: Keepalive::default(),
            metadata: Vec::new(),
        };
        for param in params.split(';').filter(|p| !p.is_empty()) {
            let (key, value) = param
                .split_once('=')
                .filter(|(key, value)| !key.is_empty() && !value.contains('='))
                .ok_or_else(|| {
                    invalid(format!(
                        "parameter '{}' is not key=value",
                        param.split('=').next().unwrap_or("")
                    ))
                })?;
            let value = percent_decode_str(value)
                .decode_utf8()
                .map_err(|err| invalid(format!("parameter '{key}' is not UTF-8: {err}")))?
                .into_owned();
            parsed.set(key, value).map_err(invalid)?;
        }
        Ok(parsed)
    }

    /// Parses a connection string, taking the token from
    /// `SPARK_CONNECT_AUTHENTICATE_TOKEN` when the string has none.
    pub fn parse_with_env(text: &str) -> Result<Self> {
        let mut parsed = Self::parse(text)?;
        if parsed.token.is_none() {
            parsed.token = std::env::var(TOKEN_ENV)
                .ok()
                .filter(|t| !t.is_empty())
                .map(Secret::new);
        }
        Ok(parsed)
    }

    fn set(&mut self, key: &str, value: String) -> std::result::Result<(), String> {
        let flag = |value: &str| value.eq_ignore_ascii_case("true");
        let millis = |value: &str| {
            value
                .parse::<u64>()
                .map_err(|_| format!("parameter '{key}' must be a number of milliseconds"))
        };
        match key {
            "token" => self.token = Some(Secret::new(value)),
            "use_ssl" => self.use_ssl = flag(&value),
            "user_id" => self.user_id = Some(value),
            "user_agent" => self.user_agent = Some(value),
            "session_id" => {
                uuid_shaped(&value)
                    .then_some(())
                    .ok_or("parameter 'session_id' must be a UUID")?;
                self.session_id = Some(value);
            }
            "grpc_keepalive_enabled" => self.keepalive.enabled = Some(flag(&value)),
            "grpc_keepalive_time_ms" => self.keepalive.time_ms = Some(millis(&value)?),
            "grpc_keepalive_timeout_ms" => self.keepalive.timeout_ms = Some(millis(&value)?),
            "grpc_keepalive_without_calls" => self.keepalive.without_calls = Some(flag(&value)),
            _ => self.metadata.push((key.to_string(), value)),
        }
        Ok(())
    }

    /// How the channel is secured, by Spark's rules.
    pub fn transport(&self) -> Transport {
        match (self.use_ssl, self.token.is_some()) {
            (false, false) => Transport::Plaintext,
            (false, true) if self.host == "localhost" => Transport::LocalWithToken,
            _ => Transport::Tls,
        }
    }

    /// The URI a gRPC channel connects to.
    pub fn endpoint_uri(&self) -> String {
        let scheme = if self.transport() == Transport::Tls {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}:{}", self.host, self.port)
    }
}

impl FromStr for ConnectionString {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        Self::parse(text)
    }
}

impl fmt::Debug for ConnectionString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionString")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("token", &self.token)
            .field("use_ssl", &self.use_ssl)
            .field("user_id", &self.user_id)
            .field("user_agent", &self.user_agent)
            .field("session_id", &self.session_id)
            .field("keepalive", &self.keepalive)
            .field(
                "metadata_keys",
                &self.metadata.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl fmt::Display for ConnectionString {
    /// The connection string without parameter values, safe for EXPLAIN and errors.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sc://{}:{}", self.host, self.port)
    }
}

/// `8-4-4-4-12` hexadecimal digits, as Spark checks session ids.
fn uuid_shaped(value: &str) -> bool {
    let groups: Vec<&str> = value.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The connection string with every parameter value replaced, for errors.
fn redact_params(text: &str) -> String {
    let mut parts = text.split(';');
    let address = parts.next().unwrap_or_default();
    let mut out = match address.split_once('@') {
        Some((_, host)) => format!("sc://******@{host}"),
        None => address.to_string(),
    };
    for param in parts {
        out.push(';');
        out.push_str(param.split('=').next().unwrap_or_default());
        if param.contains('=') {
            out.push_str("=******");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let c = ConnectionString::parse("sc://localhost").unwrap();
        assert_eq!((c.host.as_str(), c.port), ("localhost", DEFAULT_PORT));
        assert_eq!(c.transport(), Transport::Plaintext);
        assert_eq!(c.endpoint_uri(), "http://localhost:15002");
        assert_eq!(c.to_string(), "sc://localhost:15002");
    }

    #[test]
    fn every_known_parameter() {
        let c = ConnectionString::parse(
            "sc://spark.example.com:443/;token=abc%3Bdef;use_ssl=true;user_id=ann;user_agent=nb;\
             session_id=0f8fad5b-d9cb-469f-a165-70867728950e;grpc_keepalive_time_ms=1000;\
             x-databricks-cluster-id=0123",
        )
        .unwrap();
        assert_eq!(c.port, 443);
        assert_eq!(c.token.as_ref().unwrap().expose(), "abc;def");
        assert!(c.use_ssl);
        assert_eq!(c.user_id.as_deref(), Some("ann"));
        assert_eq!(c.user_agent.as_deref(), Some("nb"));
        assert_eq!(
            c.session_id.as_deref(),
            Some("0f8fad5b-d9cb-469f-a165-70867728950e")
        );
        assert_eq!(c.keepalive.time_ms, Some(1000));
        assert_eq!(
            c.metadata,
            [("x-databricks-cluster-id".to_string(), "0123".to_string())]
        );
        assert_eq!(c.transport(), Transport::Tls);
        assert_eq!(c.endpoint_uri(), "https://spark.example.com:443");
        let debug = format!("{c:?}");
        assert!(!debug.contains("abc") && !debug.contains("0123"), "{debug}");
    }

    #[test]
    fn token_means_tls_except_on_localhost() {
        let local = ConnectionString::parse("sc://localhost:15002/;token=t").unwrap();
        assert_eq!(local.transport(), Transport::LocalWithToken);
        let local_ssl = ConnectionString::parse("sc://localhost/;token=t;use_ssl=true").unwrap();
        assert_eq!(local_ssl.transport(), Transport::Tls);
        let remote = ConnectionString::parse("sc://127.0.0.1/;token=t").unwrap();
        assert_eq!(remote.transport(), Transport::Tls);
    }

    #[test]
    fn ipv6_hosts_keep_their_brackets() {
        let c = ConnectionString::parse("sc://[::1]:15003").unwrap();
        assert_eq!(c.endpoint_uri(), "http://[::1]:15003");
    }

    #[test]
    fn bad_strings_are_clear_errors_without_secrets() {
        for (text, expected) in [
            ("http://localhost", "must start with sc://"),
            ("sc://", "host name is missing"),
            ("sc://host/path", "path '/path' must be empty"),
            ("sc://host:99999", "invalid port"),
            ("sc://host/;token", "parameter 'token' is not key=value"),
            ("sc://host/;session_id=nope", "must be a UUID"),
            ("sc://host/;grpc_keepalive_time_ms=soon", "milliseconds"),
            ("sc://user:secret@host", "use ;token="),
        ] {
            let err = ConnectionString::parse(text).unwrap_err().to_string();
            assert!(err.contains(expected), "{text}: {err}");
            assert!(!err.contains("secret@"), "{err}");
        }
        let err = ConnectionString::parse("sc://host/path;token=hunter2")
            .unwrap_err()
            .to_string();
        assert!(
            !err.contains("hunter2") && err.contains("token=******"),
            "{err}"
        );
    }
}
