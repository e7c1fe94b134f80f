//! Databricks unified authentication, resolved as the official SDKs do.
//!
//! Each setting (host, token, client id and secret) is taken from the first
//! place that has it: the explicit [`AuthConfig`], then the `DATABRICKS_*`
//! environment variables, then the profile of the config file
//! (`DATABRICKS_CONFIG_FILE`, default `~/.databrickscfg`; profile
//! `DATABRICKS_CONFIG_PROFILE` or the explicit one, default `DEFAULT`). As
//! in the SDKs, the file is read only when a profile is named or nothing
//! else gave a host or a credential, so a `DEFAULT` profile's token never
//! travels to a host set elsewhere. A token means a personal access token;
//! a client id and secret mean OAuth machine-to-machine: an access token
//! from the workspace's token endpoint (discovered at
//! `/oidc/.well-known/oauth-authorization-server`), refreshed before it
//! expires. Both at once is an error, as in the SDKs.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Mutex;
use url::Url;

use crate::error::{Error, Result};
use crate::secret::Secret;

/// Settings given explicitly (configuration file, API call); anything unset
/// is looked up as the SDKs do.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct AuthConfig {
    /// The workspace URL (`https://<workspace>.cloud.databricks.com`).
    pub host: Option<String>,
    /// A personal access token.
    pub token: Option<Secret>,
    /// An OAuth service principal's client id.
    pub client_id: Option<String>,
    /// That service principal's secret.
    pub client_secret: Option<Secret>,
    /// A profile of the config file.
    pub profile: Option<String>,
}

/// How requests to a workspace are authenticated.
#[derive(Debug)]
pub(crate) enum Credentials {
    /// A personal access token.
    Token(Secret),
    /// OAuth machine-to-machine (client credentials).
    OAuthM2M {
        /// The service principal's client id.
        client_id: String,
        /// Its secret.
        client_secret: Secret,
    },
}

/// A workspace and how to authenticate to it.
#[derive(Debug)]
pub(crate) struct ResolvedAuth {
    /// The workspace URL.
    pub(crate) host: Url,
    /// The credentials.
    pub(crate) credentials: Credentials,
}

/// Where unset settings are looked up: the environment and the file system.
/// A function, so tests can resolve against an environment of their own.
pub(crate) type Environment<'a> = &'a dyn Fn(&str) -> Option<String>;

impl AuthConfig {
    /// The workspace at `host`, with the personal access (or UC OSS) token
    /// `token`.
    ///
    /// ```
    /// let auth = lakefed::workspace::auth::AuthConfig::with_token(
    ///     "https://example.cloud.databricks.com",
    ///     "dapi-example",
    /// );
    /// assert_eq!(auth.host.as_deref(), Some("https://example.cloud.databricks.com"));
    /// ```
    pub fn with_token(host: impl Into<String>, token: impl Into<String>) -> Self {
        Self {
            host: Some(host.into()),
            token: Some(Secret::new(token)),
            ..Self::default()
        }
    }

    /// The workspace at `host`, as the OAuth service principal `client_id`
    /// with its secret (machine-to-machine).
    pub fn with_oauth_m2m(
        host: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        Self {
            host: Some(host.into()),
            client_id: Some(client_id.into()),
            client_secret: Some(Secret::new(client_secret)),
            ..Self::default()
        }
    }

    /// Resolves the settings against the process environment and the config
    /// file.
    pub(crate) fn resolve(&self) -> Result<ResolvedAuth> {
        self.resolve_in(&|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    /// Resolves the settings against `env` and the config file it names.
    pub(crate) fn resolve_in(&self, env: Environment<'_>) -> Result<ResolvedAuth> {
        let profile_name = self
            .profile
            .clone()
            .or_else(|| env("DATABRICKS_CONFIG_PROFILE"));
        let given = [
            (self.host.clone(), "DATABRICKS_HOST", "host"),
            (
                self.token.as_ref().map(|t| t.expose().to_string()),
                "DATABRICKS_TOKEN",
                "token",
            ),
            (self.client_id.clone(), "DATABRICKS_CLIENT_ID", "client_id"),
            (
                self.client_secret.as_ref().map(|s| s.expose().to_string()),
                "DATABRICKS_CLIENT_SECRET",
                "client_secret",
            ),
        ]
        .map(|(explicit, variable, key)| (explicit.or_else(|| env(variable)), key));
        let read_file = profile_name.is_some() || given.iter().all(|(value, _)| value.is_none());
        let profile = if read_file {
            read_profile(env, profile_name.as_deref())?
        } else {
            None
        };
        let [host, token, client_id, client_secret] = given.map(|(value, key)| {
            value.or_else(|| profile.as_ref().and_then(|p| p.get(key).cloned()))
        });
        let host = host.ok_or_else(|| {
            Error::InvalidArgument(
                "no Databricks host: set `host`, DATABRICKS_HOST or a profile's host".to_string(),
            )
        })?;
        let host = parse_host(&host)?;
        let credentials = match (token, client_id, client_secret) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                return Err(Error::InvalidArgument(format!(
                    "{host}: more than one authentication method configured (a token, and a client id or secret for OAuth): keep one"
                )));
            }
            (Some(token), None, None) => Credentials::Token(Secret::new(token)),
            (None, Some(client_id), Some(secret)) => Credentials::OAuthM2M {
                client_id,
                client_secret: Secret::new(secret),
            },
            (None, Some(_), None) => {
                return Err(Error::InvalidArgument(format!(
                    "{host}: a client id without a client secret (set DATABRICKS_CLIENT_SECRET or the profile's client_secret)"
                )));
            }
            (None, None, _) => {
                return Err(Error::InvalidArgument(format!(
                    "{host}: no Databricks credentials: set a token (DATABRICKS_TOKEN), or a client id and secret for OAuth (DATABRICKS_CLIENT_ID, DATABRICKS_CLIENT_SECRET), or a profile in ~/.databrickscfg"
                )));
            }
        };
        Ok(ResolvedAuth { host, credentials })
    }
}

/// The workspace URL, scheme and authority only (as the SDKs keep it);
/// `https://` when no scheme is given.
fn parse_host(host: &str) -> Result<Url> {
    let with_scheme = if host.contains("://") {
        host.to_string()
    } else {
        format!("https://{host}")
    };
    let mut url = Url::parse(&with_scheme).map_err(|err| {
        Error::InvalidArgument(format!("invalid Databricks host '{host}': {err}"))
    })?;
    url.set_path("/");
    url.set_query(None);
    url.set_fragment(None);
    match url.scheme() {
        "https" | "http" if url.host_str().is_some() => Ok(url),
        _ => Err(Error::InvalidArgument(format!(
            "invalid Databricks host '{host}': expected https://<workspace>"
        ))),
    }
}

/// The settings of a profile of the config file, if the file exists. A
/// profile named explicitly must exist; `DEFAULT` may be missing.
fn read_profile(
    env: Environment<'_>,
    profile: Option<&str>,
) -> Result<Option<std::collections::HashMap<String, String>>> {
    let home = env("HOME").map(PathBuf::from);
    let path = match env("DATABRICKS_CONFIG_FILE") {
        Some(path) => match (path.strip_prefix("~/"), &home) {
            (Some(rest), Some(home)) => home.join(rest),
            _ => PathBuf::from(path),
        },
        None => match home {
            Some(home) => home.join(".databrickscfg"),
            None => return Ok(None),
        },
    };
    if !path.exists() {
        return match profile {
            Some(name) => Err(Error::InvalidArgument(format!(
                "profile '{name}': the config file {} does not exist",
                path.display()
            ))),
            None => Ok(None),
        };
    }
    // Values as Python's configparser reads them: no quotes, no escapes.
    let plain = ini::ParseOption {
        enabled_quote: false,
        enabled_escape: false,
        ..Default::default()
    };
    let file = ini::Ini::load_from_file_opt(&path, plain)
        .map_err(|err| Error::InvalidArgument(format!("cannot read {}: {err}", path.display())))?;
    let name = profile.unwrap_or("DEFAULT");
    match file.section(Some(name)) {
        Some(section) => Ok(Some(
            section
                .iter()
                .map(|(key, value)| (key.to_string(), value.to_string()))
                .collect(),
        )),
        None if profile.is_none() => Ok(None),
        None => Err(Error::InvalidArgument(format!(
            "profile '{name}' is not in {}",
            path.display()
        ))),
    }
}

/// An OAuth access token and when to stop using it.
struct AccessToken {
    token: Secret,
    refresh_at: Instant,
}

/// Tokens are refreshed this long before they expire, so a request never
/// carries one that lapses in flight.
const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// The `Authorization` header of a workspace's requests, from its
/// credentials; OAuth tokens are fetched and refreshed on demand.
pub(crate) struct Authenticator {
    credentials: Credentials,
    token: Mutex<Option<AccessToken>>,
}

#[derive(Deserialize)]
struct AuthorizationServer {
    token_endpoint: String,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: Option<u64>,
}

impl Authenticator {
    pub(crate) fn new(credentials: Credentials) -> Self {
        Self {
            credentials,
            token: Mutex::new(None),
        }
    }

    /// A short, secret-free name of the identity (for compute contexts and
    /// messages).
    pub(crate) fn method(&self) -> &'static str {
        match self.credentials {
            Credentials::Token(_) => "personal access token",
            Credentials::OAuthM2M { .. } => "OAuth M2M",
        }
    }

    /// The bearer token for the next request.
    pub(crate) async fn bearer(&self, http: &reqwest::Client, host: &Url) -> Result<Secret> {
        let (client_id, client_secret) = match &self.credentials {
            Credentials::Token(token) => return Ok(token.clone()),
            Credentials::OAuthM2M {
                client_id,
                client_secret,
            } => (client_id, client_secret),
        };
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref()
            && Instant::now() < token.refresh_at
        {
            return Ok(token.token.clone());
        }
        let fresh = fetch_token(http, host, client_id, client_secret).await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }
}

/// A token from the workspace's OAuth token endpoint, by client
/// credentials.
async fn fetch_token(
    http: &reqwest::Client,
    host: &Url,
    client_id: &str,
    client_secret: &Secret,
) -> Result<AccessToken> {
    let unreachable = |err: reqwest::Error| Error::Unreachable {
        endpoint: host.to_string(),
        message: format!("OAuth token request failed: {err}"),
    };
    let discovery = host
        .join("oidc/.well-known/oauth-authorization-server")
        .map_err(|err| Error::InvalidArgument(err.to_string()))?;
    let server: AuthorizationServer =
        json(http.get(discovery).send().await.map_err(unreachable)?, host).await?;
    let started = Instant::now();
    let response = http
        .post(&server.token_endpoint)
        .basic_auth(client_id, Some(client_secret.expose()))
        .form(&[("grant_type", "client_credentials"), ("scope", "all-apis")])
        .send()
        .await
        .map_err(unreachable)?;
    let token: TokenResponse = json(response, host).await?;
    let lifetime = Duration::from_secs(token.expires_in.unwrap_or(3600));
    Ok(AccessToken {
        token: Secret::new(token.access_token),
        refresh_at: started + lifetime.saturating_sub(REFRESH_MARGIN),
    })
}

/// The JSON body of a successful OAuth response, or an error that says what
/// the server refused (never the credentials).
async fn json<T: for<'de> Deserialize<'de>>(response: reqwest::Response, host: &Url) -> Result<T> {
    let status = response.status();
    let body = response.bytes().await.map_err(|err| Error::Unreachable {
        endpoint: host.to_string(),
        message: format!("OAuth response broke off: {err}"),
    })?;
    if !status.is_success() {
        return Err(Error::Remote {
            endpoint: host.to_string(),
            error_class: Some("UNAUTHENTICATED".to_string()),
            sql_state: None,
            message: format!(
                "OAuth M2M: the token endpoint answered {status}: {}",
                String::from_utf8_lossy(&body)
                    .chars()
                    .take(300)
                    .collect::<String>()
            ),
        });
    }
    serde_json::from_slice(&body).map_err(|err| Error::Remote {
        endpoint: host.to_string(),
        error_class: None,
        sql_state: None,
        message: format!("OAuth M2M: unexpected answer from the token endpoint: {err}"),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.get(name).cloned()
    }

    #[test]
    fn explicit_settings_win_over_the_environment_and_the_environment_over_profiles() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cfg");
        std::fs::write(
            &file,
            "[DEFAULT]\nhost = https://default.example\ntoken = dapi-default\n\n[sp]\nhost = sp.example\nclient_id = abc\nclient_secret = s3cret\n",
        )
        .unwrap();
        let file = file.to_string_lossy().into_owned();
        let env = env_of(&[("DATABRICKS_CONFIG_FILE", &file)]);
        let resolved = AuthConfig::default().resolve_in(&env).unwrap();
        assert_eq!(resolved.host.as_str(), "https://default.example/");
        assert!(
            matches!(resolved.credentials, Credentials::Token(t) if t.expose() == "dapi-default")
        );

        let env = env_of(&[
            ("DATABRICKS_CONFIG_FILE", &file),
            ("DATABRICKS_CONFIG_PROFILE", "sp"),
        ]);
        let resolved = AuthConfig::default().resolve_in(&env).unwrap();
        assert_eq!(resolved.host.as_str(), "https://sp.example/");
        assert!(
            matches!(resolved.credentials, Credentials::OAuthM2M { ref client_id, .. } if client_id == "abc")
        );

        let env = env_of(&[
            ("DATABRICKS_CONFIG_FILE", &file),
            ("DATABRICKS_HOST", "http://127.0.0.1:1/some/path?x=1"),
            ("DATABRICKS_TOKEN", "dapi-env"),
        ]);
        let explicit = AuthConfig {
            token: Some(Secret::new("dapi-explicit")),
            ..Default::default()
        };
        let resolved = explicit.resolve_in(&env).unwrap();
        assert_eq!(resolved.host.as_str(), "http://127.0.0.1:1/");
        assert!(
            matches!(resolved.credentials, Credentials::Token(t) if t.expose() == "dapi-explicit")
        );
    }

    #[test]
    fn a_default_profile_never_fills_in_for_a_host_set_elsewhere() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cfg");
        std::fs::write(
            &file,
            "[DEFAULT]\nhost = https://a.example\ntoken = dapi-of-a\n",
        )
        .unwrap();
        let file = file.to_string_lossy().into_owned();
        let env = env_of(&[
            ("DATABRICKS_CONFIG_FILE", &file),
            ("DATABRICKS_HOST", "https://b.example"),
        ]);
        let err = AuthConfig::default().resolve_in(&env).unwrap_err();
        assert!(
            err.to_string().contains("no Databricks credentials"),
            "{err}"
        );

        let env = env_of(&[
            ("DATABRICKS_HOST", "https://b.example"),
            ("DATABRICKS_TOKEN", "dapi-b"),
            ("DATABRICKS_CLIENT_ID", "sp"),
        ]);
        let err = AuthConfig::default().resolve_in(&env).unwrap_err();
        assert!(
            err.to_string()
                .contains("more than one authentication method"),
            "{err}"
        );
        assert!(!err.to_string().contains("dapi-b"));
    }

    #[test]
    fn missing_settings_are_clear_errors_without_secrets() {
        let env = env_of(&[("DATABRICKS_HOST", "example.cloud.databricks.com")]);
        let err = AuthConfig::default().resolve_in(&env).unwrap_err();
        assert!(
            err.to_string().contains("no Databricks credentials"),
            "{err}"
        );

        let env = env_of(&[
            ("DATABRICKS_HOST", "example"),
            ("DATABRICKS_CLIENT_ID", "abc"),
        ]);
        let err = AuthConfig::default().resolve_in(&env).unwrap_err();
        assert!(err.to_string().contains("client secret"), "{err}");

        let err = AuthConfig {
            profile: Some("nope".to_string()),
            ..Default::default()
        }
        .resolve_in(&env_of(&[("DATABRICKS_CONFIG_FILE", "/nonexistent/cfg")]))
        .unwrap_err();
        assert!(err.to_string().contains("profile 'nope'"), "{err}");
        let err = AuthConfig::default()
            .resolve_in(&env_of(&[("DATABRICKS_TOKEN", "dapi-secret")]))
            .unwrap_err();
        assert!(!err.to_string().contains("dapi-secret"), "{err}");
    }
}
