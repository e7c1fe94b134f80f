//! `lakefed.toml`: the sources a session attaches.
//!
//! ```toml
//! # One Delta table, registered as `orders`.
//! [sources.orders]
//! kind = "delta"
//! url = "data/orders"              # relative paths are relative to this file
//!
//! # Every Delta table under a prefix, registered as schema `lake`.
//! [sources.lake]
//! kind = "delta"
//! url = "s3://warehouse/tables"
//! layout = "schema"
//!
//! [sources.lake.storage]
//! endpoint = "http://127.0.0.1:9000"
//! region = "us-east-1"
//! access_key_id_env = "LAKE_ACCESS_KEY_ID"        # secrets: names of environment variables
//! secret_access_key_env = "LAKE_SECRET_ACCESS_KEY"
//! force_path_style = true
//! allow_http = true
//!
//! # A Spark Connect server: its tables are `spark.<namespace>.<table>`.
//! [sources.spark]
//! kind = "spark_connect"
//! url = "sc://127.0.0.1:15002"
//! catalog = "spark_catalog"          # optional: default, the session's current catalog
//! token_env = "SPARK_TOKEN"          # optional: else `;token=` in the url or SPARK_CONNECT_AUTHENTICATE_TOKEN
//! connect_timeout_secs = 10          # optional, as are request_timeout_secs and max_retries
//!
//! # A Databricks SQL warehouse: the tables of one Unity Catalog catalog are `dbx.<schema>.<table>`.
//! [sources.dbx]
//! kind = "databricks_sql"
//! host = "https://example.cloud.databricks.com"   # optional: else DATABRICKS_HOST or the profile's
//! warehouse_id = "abcdef1234567890"
//! catalog = "main"                   # optional: default, the warehouse's current catalog
//! token_env = "DBX_TOKEN"            # optional; or client_id_env + client_secret_env (OAuth M2M),
//! profile = "prod"                   # or a ~/.databrickscfg profile; none: Databricks unified auth
//! chunk_concurrency = 4              # optional, as are wait_timeout_secs, request_timeout_secs
//! statement_timeout_secs = 3600      # and statement_timeout_secs (default: none)
//!
//! # A Unity Catalog metastore (Databricks workspace or Unity Catalog OSS):
//! # Delta tables read from storage with vended credentials, governed tables
//! # (views, row filters, column masks) answered by the `compute` source.
//! [sources.uc]
//! kind = "unity_catalog"
//! url = "https://example.cloud.databricks.com"    # optional: else DATABRICKS_HOST or the profile's
//! catalog = "main"                   # optional: default, every catalog under its own name
//! compute = "dbx"                    # optional: a databricks_sql or spark_connect source
//! route = "auto"                     # optional: "auto", "direct" or "compute"
//! token_env = "UC_TOKEN"             # optional, as for databricks_sql (OAuth M2M, profile)
//! cache_ttl_secs = 30                # optional, as is request_timeout_secs
//!
//! [sources.uc.storage]               # optional: where vended credentials are used
//! endpoint = "http://127.0.0.1:9000"
//! allow_http = true
//! ```
//!
//! Secrets are never written in the file: a `*_env` field names the
//! environment variable that holds the value. Unknown keys, a missing `kind`,
//! a bad URL or an unset variable are errors naming the file, the source and
//! the field.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::sources::databricks_sql::DatabricksSqlOptions;
use crate::sources::delta::{SUPPORTED_SCHEMES, StorageOptions};
use crate::sources::spark_connect::{
    ClientOptions, ConnectionString, SparkConnectOptions, TOKEN_ENV,
};
use crate::sources::unity_catalog::{Route, UnityCatalogOptions};
use crate::workspace::auth::AuthConfig;

/// A parsed `lakefed.toml`.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Config {
    /// The sources, in name order.
    pub sources: Vec<SourceConfig>,
}

/// One `[sources.<name>]` section.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SourceConfig {
    /// The name the source is registered under in DataFusion.
    pub name: String,
    /// What the source is.
    pub kind: SourceKind,
}

/// The kinds of source lakefed knows.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum SourceKind {
    /// A Delta table, or a location holding Delta tables.
    Delta(DeltaSourceConfig),
    /// A Spark Connect server.
    SparkConnect(SparkConnectSourceConfig),
    /// A Databricks SQL warehouse.
    DatabricksSql(DatabricksSqlSourceConfig),
    /// A Unity Catalog metastore.
    UnityCatalog(UnityCatalogSourceConfig),
}

impl SourceKind {
    /// The kind as `kind = "..."` names it in `lakefed.toml`.
    pub fn name(&self) -> &'static str {
        match self {
            SourceKind::Delta(_) => "delta",
            SourceKind::SparkConnect(_) => "spark_connect",
            SourceKind::DatabricksSql(_) => "databricks_sql",
            SourceKind::UnityCatalog(_) => "unity_catalog",
        }
    }
}

/// A `kind = "unity_catalog"` source.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct UnityCatalogSourceConfig {
    /// The server and credentials, as far as the file gives them (the
    /// rest is resolved by Databricks unified auth when registering).
    pub auth: AuthConfig,
    /// Catalog, compute, route, storage and limits.
    pub options: UnityCatalogOptions,
}

/// A `kind = "databricks_sql"` source.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DatabricksSqlSourceConfig {
    /// The workspace and credentials, as far as the file gives them (the
    /// rest is resolved by Databricks unified auth when registering).
    pub auth: AuthConfig,
    /// Warehouse, catalog and limits.
    pub options: DatabricksSqlOptions,
}

/// A `kind = "spark_connect"` source.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SparkConnectSourceConfig {
    /// The server, with the token resolved.
    pub connection: ConnectionString,
    /// Catalog, timeouts and retries.
    pub options: SparkConnectOptions,
}

/// How a Delta location maps onto DataFusion names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum DeltaLayout {
    /// The location is one table, registered under the source name.
    #[default]
    Table,
    /// Every child of the location with a `_delta_log` is a table of the
    /// schema named after the source.
    Schema,
}

/// A `kind = "delta"` source.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DeltaSourceConfig {
    /// The table or directory location (URL or absolute local path).
    pub location: String,
    /// Table or schema.
    pub layout: DeltaLayout,
    /// How to reach the storage.
    pub storage: StorageOptions,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    sources: BTreeMap<String, toml::Table>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDelta {
    url: String,
    #[serde(default)]
    layout: DeltaLayout,
    #[serde(default)]
    storage: RawStorage,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSparkConnect {
    url: String,
    catalog: Option<String>,
    token_env: Option<String>,
    connect_timeout_secs: Option<u64>,
    request_timeout_secs: Option<u64>,
    max_retries: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatabricksSql {
    host: Option<String>,
    warehouse_id: String,
    catalog: Option<String>,
    token_env: Option<String>,
    client_id_env: Option<String>,
    client_secret_env: Option<String>,
    profile: Option<String>,
    chunk_concurrency: Option<usize>,
    wait_timeout_secs: Option<u64>,
    request_timeout_secs: Option<u64>,
    statement_timeout_secs: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUnityCatalog {
    url: Option<String>,
    catalog: Option<String>,
    compute: Option<String>,
    #[serde(default)]
    route: Route,
    token_env: Option<String>,
    client_id_env: Option<String>,
    client_secret_env: Option<String>,
    profile: Option<String>,
    cache_ttl_secs: Option<u64>,
    request_timeout_secs: Option<u64>,
    #[serde(default)]
    storage: RawStorage,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStorage {
    endpoint: Option<String>,
    region: Option<String>,
    access_key_id_env: Option<String>,
    secret_access_key_env: Option<String>,
    session_token_env: Option<String>,
    force_path_style: Option<bool>,
    allow_http: Option<bool>,
    allow_unsafe_rename: Option<bool>,
    #[serde(default)]
    options: HashMap<String, String>,
}

impl Config {
    /// Reads and validates a configuration file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|err| Error::Config {
            path: path.to_path_buf(),
            message: format!("cannot read the file: {err}"),
        })?;
        Self::from_toml(&text, path)
    }

    /// Parses configuration text; `path` names the file in errors and anchors
    /// relative locations.
    pub fn from_toml(text: &str, path: &Path) -> Result<Self> {
        Self::parse(text, path, &|name| std::env::var(name).ok())
    }

    fn parse(text: &str, path: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<Self> {
        let error = |message: String| Error::Config {
            path: path.to_path_buf(),
            message,
        };
        let raw: RawFile = toml::from_str(text).map_err(|err| error(err.to_string()))?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let sources = raw
            .sources
            .into_iter()
            .map(|(name, table)| {
                parse_source(&name, table, &base, env)
                    .map_err(|message| error(format!("[sources.{name}] {message}")))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { sources })
    }
}

fn parse_source(
    name: &str,
    mut table: toml::Table,
    base: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> std::result::Result<SourceConfig, String> {
    if name.is_empty() || name.contains('.') {
        return Err("a source name must be non-empty and contain no '.'".to_string());
    }
    let kind = match table.remove("kind") {
        None => {
            return Err(
                "missing field `kind` (one of: delta, spark_connect, databricks_sql, unity_catalog)"
                    .to_string(),
            );
        }
        Some(toml::Value::String(kind)) => kind,
        Some(other) => return Err(format!("field `kind` must be a string, not {other}")),
    };
    match kind.as_str() {
        "delta" => {
            let raw: RawDelta = table.try_into().map_err(|err| err.to_string())?;
            Ok(SourceConfig {
                name: name.to_string(),
                kind: SourceKind::Delta(DeltaSourceConfig {
                    location: resolve_location(&raw.url, base)?,
                    layout: raw.layout,
                    storage: storage_options(raw.storage, env)?,
                }),
            })
        }
        "spark_connect" => {
            let raw: RawSparkConnect = table.try_into().map_err(|err| err.to_string())?;
            Ok(SourceConfig {
                name: name.to_string(),
                kind: SourceKind::SparkConnect(spark_connect(raw, env)?),
            })
        }
        "databricks_sql" => {
            let raw: RawDatabricksSql = table.try_into().map_err(|err| err.to_string())?;
            Ok(SourceConfig {
                name: name.to_string(),
                kind: SourceKind::DatabricksSql(databricks_sql(raw, env)?),
            })
        }
        "unity_catalog" => {
            let raw: RawUnityCatalog = table.try_into().map_err(|err| err.to_string())?;
            Ok(SourceConfig {
                name: name.to_string(),
                kind: SourceKind::UnityCatalog(unity_catalog(raw, env)?),
            })
        }
        other => Err(format!(
            "field `kind`: unknown source kind '{other}' \
             (one of: delta, spark_connect, databricks_sql, unity_catalog)"
        )),
    }
}

fn spark_connect(
    raw: RawSparkConnect,
    env: &dyn Fn(&str) -> Option<String>,
) -> std::result::Result<SparkConnectSourceConfig, String> {
    let mut connection =
        ConnectionString::parse(&raw.url).map_err(|err| format!("field `url`: {err}"))?;
    if let Some(variable) = &raw.token_env {
        let token = env(variable)
            .filter(|token| !token.is_empty())
            .ok_or_else(|| {
                format!("field `token_env`: environment variable {variable} is not set")
            })?;
        connection.token = Some(Secret::new(token));
    } else if connection.token.is_none() {
        connection.token = env(TOKEN_ENV).filter(|t| !t.is_empty()).map(Secret::new);
    }
    let defaults = ClientOptions::default();
    let seconds = |value: Option<u64>, default| value.map(Duration::from_secs).unwrap_or(default);
    Ok(SparkConnectSourceConfig {
        connection,
        options: SparkConnectOptions {
            catalog: raw.catalog,
            client: ClientOptions {
                connect_timeout: seconds(raw.connect_timeout_secs, defaults.connect_timeout),
                request_timeout: seconds(raw.request_timeout_secs, defaults.request_timeout),
                max_retries: raw.max_retries.unwrap_or(defaults.max_retries),
                ..defaults
            },
        },
    })
}

fn databricks_sql(
    raw: RawDatabricksSql,
    env: &dyn Fn(&str) -> Option<String>,
) -> std::result::Result<DatabricksSqlSourceConfig, String> {
    if raw.warehouse_id.trim().is_empty() {
        return Err("field `warehouse_id` must not be empty".to_string());
    }
    let wait_timeout = raw.wait_timeout_secs.unwrap_or(10);
    if wait_timeout != 0 && !(5..=50).contains(&wait_timeout) {
        return Err("field `wait_timeout_secs` must be 0 or between 5 and 50".to_string());
    }
    let auth = auth_config(
        raw.host,
        [raw.token_env, raw.client_id_env, raw.client_secret_env],
        raw.profile,
        env,
    )?;
    let mut options = DatabricksSqlOptions::new(raw.warehouse_id);
    options.catalog = raw.catalog;
    options.wait_timeout = Duration::from_secs(wait_timeout);
    if let Some(concurrency) = raw.chunk_concurrency {
        if concurrency == 0 {
            return Err("field `chunk_concurrency` must be at least 1".to_string());
        }
        options.chunk_concurrency = concurrency;
    }
    if let Some(seconds) = raw.request_timeout_secs {
        if seconds <= wait_timeout {
            return Err("field `request_timeout_secs` must exceed `wait_timeout_secs`".to_string());
        }
        options.workspace.request_timeout = Duration::from_secs(seconds);
    }
    options.statement_timeout = raw.statement_timeout_secs.map(Duration::from_secs);
    Ok(DatabricksSqlSourceConfig { auth, options })
}

/// Databricks unified auth settings: `host`, the environment variables
/// named by `token_env`, `client_id_env` and `client_secret_env` (in that
/// order), and `profile`.
fn auth_config(
    host: Option<String>,
    [token_env, client_id_env, client_secret_env]: [Option<String>; 3],
    profile: Option<String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> std::result::Result<AuthConfig, String> {
    let variable = |field: &str,
                    name: Option<String>|
     -> std::result::Result<Option<String>, String> {
        match name {
            None => Ok(None),
            Some(name) => env(&name)
                .filter(|v| !v.is_empty())
                .map(Some)
                .ok_or_else(|| format!("field `{field}`: environment variable {name} is not set")),
        }
    };
    Ok(AuthConfig {
        host,
        token: variable("token_env", token_env)?.map(Secret::new),
        client_id: variable("client_id_env", client_id_env)?,
        client_secret: variable("client_secret_env", client_secret_env)?.map(Secret::new),
        profile,
    })
}

fn unity_catalog(
    raw: RawUnityCatalog,
    env: &dyn Fn(&str) -> Option<String>,
) -> std::result::Result<UnityCatalogSourceConfig, String> {
    let auth = auth_config(
        raw.url,
        [raw.token_env, raw.client_id_env, raw.client_secret_env],
        raw.profile,
        env,
    )?;
    let mut options = UnityCatalogOptions {
        catalog: raw.catalog,
        compute: raw.compute,
        route: raw.route,
        storage: storage_options(raw.storage, env)?,
        ..UnityCatalogOptions::default()
    };
    if let Some(seconds) = raw.cache_ttl_secs {
        options.cache_ttl = Duration::from_secs(seconds);
    }
    if let Some(seconds) = raw.request_timeout_secs {
        options.workspace.request_timeout = Duration::from_secs(seconds);
    }
    Ok(UnityCatalogSourceConfig { auth, options })
}

fn resolve_location(url: &str, base: &Path) -> std::result::Result<String, String> {
    if url.trim().is_empty() {
        return Err("field `url` must not be empty".to_string());
    }
    match Url::parse(url) {
        Ok(parsed) if parsed.scheme().len() > 1 => {
            if !SUPPORTED_SCHEMES.contains(&parsed.scheme()) {
                return Err(format!(
                    "field `url`: unsupported scheme '{}' in '{url}' (one of: {})",
                    parsed.scheme(),
                    SUPPORTED_SCHEMES.join(", ")
                ));
            }
            if parsed.host_str().is_none_or(str::is_empty)
                && parsed.scheme() != "file"
                && parsed.scheme() != "memory"
            {
                return Err(format!("field `url`: '{url}' names no bucket or container"));
            }
            Ok(url.to_string())
        }
        Ok(_) | Err(url::ParseError::RelativeUrlWithoutBase) => {
            let path = PathBuf::from(url);
            let path = if path.is_absolute() {
                path
            } else {
                base.join(path)
            };
            Ok(path.to_string_lossy().into_owned())
        }
        Err(err) => Err(format!("field `url`: '{url}' is not a valid URL ({err})")),
    }
}

fn storage_options(
    raw: RawStorage,
    env: &dyn Fn(&str) -> Option<String>,
) -> std::result::Result<StorageOptions, String> {
    let secret =
        |field: &str, var: Option<String>| -> std::result::Result<Option<Secret>, String> {
            match var {
                None => Ok(None),
                Some(var) => env(&var)
                    .map(|value| Some(Secret::new(value)))
                    .ok_or_else(|| {
                        format!("field `storage.{field}`: environment variable {var} is not set")
                    }),
            }
        };
    Ok(StorageOptions {
        endpoint: raw.endpoint,
        region: raw.region,
        access_key_id: secret("access_key_id_env", raw.access_key_id_env)?,
        secret_access_key: secret("secret_access_key_env", raw.secret_access_key_env)?,
        session_token: secret("session_token_env", raw.session_token_env)?,
        force_path_style: raw.force_path_style,
        allow_http: raw.allow_http,
        allow_unsafe_rename: raw.allow_unsafe_rename,
        extra: raw.options,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config> {
        Config::parse(text, Path::new("/etc/lakefed.toml"), &|name| {
            (name == "KEY").then(|| "secret-value".to_string())
        })
    }

    fn err(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn parses_tables_and_schemas() {
        let config = parse(
            r#"
            [sources.orders]
            kind = "delta"
            url = "data/orders"
            [sources.lake]
            kind = "delta"
            url = "s3://bucket/tables"
            layout = "schema"
            [sources.lake.storage]
            endpoint = "http://127.0.0.1:9000"
            secret_access_key_env = "KEY"
            "#,
        )
        .unwrap();
        assert_eq!(config.sources.len(), 2);
        let SourceKind::Delta(lake) = &config.sources[0].kind else {
            panic!("lake is a Delta source")
        };
        assert_eq!(config.sources[0].name, "lake");
        assert_eq!(lake.layout, DeltaLayout::Schema);
        assert_eq!(
            lake.storage.secret_access_key.as_ref().unwrap().expose(),
            "secret-value"
        );
        assert!(!format!("{config:?}").contains("secret-value"));
        let SourceKind::Delta(orders) = &config.sources[1].kind else {
            panic!("orders is a Delta source")
        };
        assert_eq!(orders.location, "/etc/data/orders");
    }

    #[test]
    fn parses_databricks_sql_sources() {
        let config = parse(
            r#"
            [sources.dbx]
            kind = "databricks_sql"
            host = "https://example.cloud.databricks.com"
            warehouse_id = "abc123"
            catalog = "main"
            token_env = "KEY"
            chunk_concurrency = 8
            "#,
        )
        .unwrap();
        let SourceKind::DatabricksSql(dbx) = &config.sources[0].kind else {
            panic!("dbx is a Databricks SQL source")
        };
        assert_eq!(dbx.options.warehouse_id, "abc123");
        assert_eq!(dbx.options.catalog.as_deref(), Some("main"));
        assert_eq!(dbx.options.chunk_concurrency, 8);
        assert_eq!(dbx.auth.token.as_ref().unwrap().expose(), "secret-value");
        assert!(!format!("{config:?}").contains("secret-value"));

        let missing =
            "[sources.dbx]\nkind = \"databricks_sql\"\nwarehouse_id = \"w\"\ntoken_env = \"UNSET\"";
        assert!(
            err(missing)
                .contains("[sources.dbx] field `token_env`: environment variable UNSET is not set"),
            "{}",
            err(missing)
        );
        let bad_wait =
            "[sources.dbx]\nkind = \"databricks_sql\"\nwarehouse_id = \"w\"\nwait_timeout_secs = 3";
        assert!(
            err(bad_wait).contains("wait_timeout_secs"),
            "{}",
            err(bad_wait)
        );
    }

    #[test]
    fn parses_spark_connect_sources() {
        let config = parse(
            r#"
            [sources.spark]
            kind = "spark_connect"
            url = "sc://spark.example.com:443/;use_ssl=true;x-cluster=7"
            catalog = "main"
            token_env = "KEY"
            request_timeout_secs = 30
            "#,
        )
        .unwrap();
        let SourceKind::SparkConnect(spark) = &config.sources[0].kind else {
            panic!("spark is a Spark Connect source")
        };
        assert_eq!(
            spark.connection.token.as_ref().unwrap().expose(),
            "secret-value"
        );
        assert_eq!(
            spark.connection.metadata,
            [("x-cluster".to_string(), "7".to_string())]
        );
        assert_eq!(spark.options.catalog.as_deref(), Some("main"));
        assert_eq!(
            spark.options.client.request_timeout,
            Duration::from_secs(30)
        );
        assert_eq!(
            spark.options.client.max_retries,
            ClientOptions::default().max_retries
        );
        assert!(!format!("{config:?}").contains("secret-value"));
        let e = err("[sources.s]\nkind = \"spark_connect\"\nurl = \"http://x\"");
        assert!(e.contains("[sources.s] field `url`"), "{e}");
        let e =
            err("[sources.s]\nkind = \"spark_connect\"\nurl = \"sc://x\"\ntoken_env = \"NOPE\"");
        assert!(e.contains("NOPE is not set"), "{e}");
    }

    #[test]
    fn errors_name_file_source_and_field() {
        let e = err("[sources.a]\nurl = \"/x\"");
        assert!(
            e.contains("/etc/lakefed.toml") && e.contains("[sources.a]") && e.contains("`kind`"),
            "{e}"
        );
        let e = err("[sources.a]\nkind = \"delta\"\nurl = \"/x\"\nurll = 1");
        assert!(
            e.contains("[sources.a]") && e.contains("unknown field `urll`"),
            "{e}"
        );
        let e = err("[sources.a]\nkind = \"delta\"\nurl = \"ftp://x/y\"");
        assert!(
            e.contains("field `url`") && e.contains("unsupported scheme 'ftp'"),
            "{e}"
        );
        let e = err("[sources.a]\nkind = \"mysql\"\nurl = \"/x\"");
        assert!(e.contains("unknown source kind 'mysql'"), "{e}");
        let e = err(
            "[sources.a]\nkind = \"delta\"\nurl = \"s3://b/t\"\n[sources.a.storage]\naccess_key_id_env = \"NOPE\"",
        );
        assert!(
            e.contains("storage.access_key_id_env") && e.contains("NOPE"),
            "{e}"
        );
        let e = err("[source.a]\nkind = \"delta\"");
        assert!(e.contains("unknown field `source`"), "{e}");
        let e = err("[sources.a]\nkind = \"delta\"\nurl = \"s3:///t\"");
        assert!(e.contains("names no bucket"), "{e}");
    }

    #[test]
    fn parses_unity_catalog_sources() {
        let config = parse(
            "[sources.uc]\nkind = \"unity_catalog\"\nurl = \"http://127.0.0.1:8080\"\n\
             catalog = \"main\"\ncompute = \"dbx\"\nroute = \"direct\"\ntoken_env = \"KEY\"\n\
             cache_ttl_secs = 5\n[sources.uc.storage]\nendpoint = \"http://127.0.0.1:9000\"\n\
             allow_http = true\n",
        )
        .unwrap();
        let SourceKind::UnityCatalog(uc) = &config.sources[0].kind else {
            panic!("{config:?}");
        };
        assert_eq!(uc.auth.host.as_deref(), Some("http://127.0.0.1:8080"));
        assert_eq!(uc.auth.token.as_ref().unwrap().expose(), "secret-value");
        assert_eq!(uc.options.catalog.as_deref(), Some("main"));
        assert_eq!(uc.options.compute.as_deref(), Some("dbx"));
        assert_eq!(uc.options.route, Route::Direct);
        assert_eq!(uc.options.cache_ttl, Duration::from_secs(5));
        assert_eq!(uc.options.storage.allow_http, Some(true));
        let e = err("[sources.uc]\nkind = \"unity_catalog\"\nroute = \"sometimes\"");
        assert!(e.contains("[sources.uc]") && e.contains("sometimes"), "{e}");
    }
}
