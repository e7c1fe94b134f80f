//! `lakefed.SessionContext`: sources are registered on it and SQL runs
//! against it, as on the Rust API's `SessionContext` + `SessionContextExt`.

use std::path::PathBuf;
use std::time::Duration;

use datafusion::prelude::SessionContext as DataFusionContext;
use lakefed::sources::databricks_sql::DatabricksSqlOptions;
use lakefed::sources::delta::{StorageOptions, TableVersion};
use lakefed::sources::spark_connect::{ConnectionString, SparkConnectOptions};
use lakefed::sources::unity_catalog::{Route, UnityCatalogOptions};
use lakefed::workspace::auth::AuthConfig;
use lakefed::{Config, Secret, SessionContextExt};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFloat, PyInt};

use crate::dataframe::DataFrame;
use crate::errors;
use crate::params::param_values;
use crate::wait::{self, wait_for};

/// A lakefed session: the sources it has attached and its settings.
#[pyclass(module = "lakefed", frozen)]
pub struct SessionContext {
    ctx: DataFusionContext,
    progress: bool,
}

#[pymethods]
impl SessionContext {
    /// A session with no sources; `progress` shows rows and bytes received
    /// while a long query runs (in Jupyter and in a terminal).
    #[new]
    #[pyo3(signature = (*, progress = true))]
    fn new(progress: bool) -> PyResult<Self> {
        let ctx = lakefed::new_session_context();
        ctx.use_background_work(wait::background()?.clone());
        Ok(Self { ctx, progress })
    }

    /// A session with every source of a `lakefed.toml` attached.
    #[staticmethod]
    #[pyo3(signature = (path, *, progress = true))]
    fn from_config(py: Python<'_>, path: PathBuf, progress: bool) -> PyResult<Self> {
        let session = Self::new(progress)?;
        session.register_config(py, path)?;
        Ok(session)
    }

    /// Attaches every source of a `lakefed.toml`.
    fn register_config(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let config = Config::from_file(&path).map_err(errors::from_lakefed)?;
        let ctx = self.ctx.clone();
        wait_for(py, async move { ctx.register_config(&config).await })?
            .map_err(errors::from_lakefed)
    }

    /// Registers the Delta table at `location` as `name`; `version` or
    /// `timestamp` pin it to an older version.
    #[pyo3(signature = (name, location, *, version = None, timestamp = None, storage_options = None))]
    fn register_delta(
        &self,
        py: Python<'_>,
        name: String,
        location: String,
        version: Option<i64>,
        timestamp: Option<Bound<'_, PyAny>>,
        storage_options: Option<Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let version = table_version(version, timestamp.as_ref())?;
        let options = storage(storage_options.as_ref())?;
        let ctx = self.ctx.clone();
        wait_for(py, async move {
            ctx.register_delta_with(&name, &location, options, version)
                .await
        })?
        .map_err(errors::from_lakefed)
    }

    /// Registers every Delta table under `location` as schema `name`.
    #[pyo3(signature = (name, location, *, storage_options = None))]
    fn register_delta_schema(
        &self,
        name: &str,
        location: &str,
        storage_options: Option<Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let options = storage(storage_options.as_ref())?;
        self.ctx
            .register_delta_schema(name, location, options)
            .map_err(errors::from_lakefed)
    }

    /// Attaches the Spark Connect server at `url` as catalog `name`.
    #[pyo3(signature = (
        name, url, *, catalog = None, connect_timeout = None, request_timeout = None,
        max_retries = None, initial_backoff = None, max_backoff = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn register_spark_connect(
        &self,
        name: &str,
        url: &str,
        catalog: Option<String>,
        connect_timeout: Option<Bound<'_, PyAny>>,
        request_timeout: Option<Bound<'_, PyAny>>,
        max_retries: Option<usize>,
        initial_backoff: Option<Bound<'_, PyAny>>,
        max_backoff: Option<Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let connection = ConnectionString::parse_with_env(url).map_err(errors::from_lakefed)?;
        let mut options = SparkConnectOptions::default();
        options.catalog = catalog;
        let client = &mut options.client;
        for (name, value, field) in [
            (
                "connect_timeout",
                connect_timeout,
                &mut client.connect_timeout,
            ),
            (
                "request_timeout",
                request_timeout,
                &mut client.request_timeout,
            ),
            (
                "initial_backoff",
                initial_backoff,
                &mut client.initial_backoff,
            ),
            ("max_backoff", max_backoff, &mut client.max_backoff),
        ] {
            if let Some(value) = value {
                *field = duration(name, &value)?;
            }
        }
        if let Some(retries) = max_retries {
            client.max_retries = retries;
        }
        self.ctx
            .register_spark_connect_with(name, &connection, options)
            .map_err(errors::from_lakefed)
    }

    /// Attaches a Unity Catalog catalog of a Databricks workspace, queried
    /// on SQL warehouse `warehouse_id`, as catalog `name`.
    #[pyo3(signature = (
        name, *, warehouse_id, host = None, catalog = None, token = None, client_id = None,
        client_secret = None, profile = None, chunk_concurrency = None, request_timeout = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn register_databricks_sql(
        &self,
        py: Python<'_>,
        name: String,
        warehouse_id: String,
        host: Option<String>,
        catalog: Option<String>,
        token: Option<String>,
        client_id: Option<String>,
        client_secret: Option<String>,
        profile: Option<String>,
        chunk_concurrency: Option<usize>,
        request_timeout: Option<Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let auth = auth_config(host, token, client_id, client_secret, profile);
        let mut options = DatabricksSqlOptions::new(warehouse_id);
        options.catalog = catalog;
        if let Some(concurrency) = chunk_concurrency {
            options.chunk_concurrency = concurrency.max(1);
        }
        if let Some(timeout) = request_timeout {
            options.workspace.request_timeout = duration("request_timeout", &timeout)?;
        }
        let ctx = self.ctx.clone();
        wait_for(py, async move {
            ctx.register_databricks_sql(&name, &auth, options).await
        })?
        .map_err(errors::from_lakefed)
    }

    /// Attaches a Unity Catalog server (a Databricks workspace or Unity
    /// Catalog OSS): catalog `catalog` as catalog `name`, or every catalog
    /// under its own name.
    #[pyo3(signature = (
        name, *, url = None, catalog = None, compute = None, route = "auto", token = None,
        client_id = None, client_secret = None, profile = None, storage_options = None,
        cache_ttl = None, request_timeout = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn register_unity_catalog(
        &self,
        py: Python<'_>,
        name: String,
        url: Option<String>,
        catalog: Option<String>,
        compute: Option<String>,
        route: &str,
        token: Option<String>,
        client_id: Option<String>,
        client_secret: Option<String>,
        profile: Option<String>,
        storage_options: Option<Bound<'_, PyDict>>,
        cache_ttl: Option<Bound<'_, PyAny>>,
        request_timeout: Option<Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let auth = auth_config(url, token, client_id, client_secret, profile);
        let route = match route {
            "auto" => Route::Auto,
            "direct" => Route::Direct,
            "compute" => Route::Compute,
            other => {
                return Err(pyo3::exceptions::PyValueError::new_err(format!(
                    "route must be 'auto', 'direct' or 'compute', not {other:?}"
                )));
            }
        };
        let mut options = UnityCatalogOptions::default();
        options.catalog = catalog;
        options.compute = compute;
        options.route = route;
        options.storage = storage(storage_options.as_ref())?;
        if let Some(ttl) = cache_ttl {
            options.cache_ttl = duration("cache_ttl", &ttl)?;
        }
        if let Some(timeout) = request_timeout {
            options.workspace.request_timeout = duration("request_timeout", &timeout)?;
        }
        let ctx = self.ctx.clone();
        wait_for(py, async move {
            ctx.register_unity_catalog(&name, &auth, options).await
        })?
        .map_err(errors::from_lakefed)
    }

    /// Plans `query`; `params` binds `$1, $2, ...` (a list or tuple) or
    /// `$name` (a dict). Statements such as `SET` or `CREATE TABLE ... AS`
    /// run at once.
    #[pyo3(signature = (query, params = None))]
    fn sql(
        &self,
        py: Python<'_>,
        query: String,
        params: Option<Bound<'_, PyAny>>,
    ) -> PyResult<DataFrame> {
        let params = params.map(|params| param_values(&params)).transpose()?;
        let ctx = self.ctx.clone();
        let df = wait_for(py, async move {
            let df = ctx.sql(&query).await?;
            match params {
                Some(params) => df.with_param_values(params),
                None => Ok(df),
            }
        })?
        .map_err(errors::from_datafusion)?;
        Ok(DataFrame::new(df, self.progress))
    }

    /// The table (or view) `name` as a DataFrame.
    fn table(&self, py: Python<'_>, name: String) -> PyResult<DataFrame> {
        let ctx = self.ctx.clone();
        let df = wait_for(py, async move { ctx.table(name.as_str()).await })?
            .map_err(errors::from_datafusion)?;
        Ok(DataFrame::new(df, self.progress))
    }

    fn __repr__(&self) -> String {
        let catalogs = self.ctx.catalog_names();
        format!("lakefed.SessionContext(catalogs={catalogs:?})")
    }
}

fn table_version(
    version: Option<i64>,
    timestamp: Option<&Bound<'_, PyAny>>,
) -> PyResult<TableVersion> {
    let invalid =
        |message: &str| errors::from_lakefed(lakefed::Error::InvalidArgument(message.to_string()));
    match (version, timestamp) {
        (None, None) => Ok(TableVersion::Latest),
        (Some(_), Some(_)) => Err(invalid("give either version or timestamp, not both")),
        (Some(version), None) => u64::try_from(version)
            .map(TableVersion::Version)
            .map_err(|_| invalid(&format!("version must be 0 or more, not {version}"))),
        (None, Some(timestamp)) => {
            if timestamp.getattr("tzinfo").is_ok_and(|zone| zone.is_none()) {
                return Err(invalid("timestamp must be a timezone-aware datetime"));
            }
            let seconds: f64 = timestamp.call_method0("timestamp")?.extract()?;
            let micros = (seconds * 1e6).round() as i64;
            chrono::DateTime::from_timestamp_micros(micros)
                .map(TableVersion::Timestamp)
                .ok_or_else(|| invalid("timestamp is out of range"))
        }
    }
}

/// Storage options from a dict with the keys of `[sources.NAME.storage]` in
/// `lakefed.toml` (secrets given as values, not as variable names);
/// `options` holds object_store keys passed through unchanged.
fn storage(options: Option<&Bound<'_, PyDict>>) -> PyResult<StorageOptions> {
    let mut storage = StorageOptions::default();
    let Some(options) = options else {
        return Ok(storage);
    };
    for (key, value) in options.iter() {
        let key: String = key.extract()?;
        match key.as_str() {
            "endpoint" => storage.endpoint = Some(value.extract()?),
            "region" => storage.region = Some(value.extract()?),
            "access_key_id" => {
                storage.access_key_id = Some(Secret::new(value.extract::<String>()?))
            }
            "secret_access_key" => {
                storage.secret_access_key = Some(Secret::new(value.extract::<String>()?))
            }
            "session_token" => {
                storage.session_token = Some(Secret::new(value.extract::<String>()?))
            }
            "force_path_style" => storage.force_path_style = Some(value.extract()?),
            "allow_http" => storage.allow_http = Some(value.extract()?),
            "allow_unsafe_rename" => storage.allow_unsafe_rename = Some(value.extract()?),
            "options" => storage.extra = value.extract()?,
            other => {
                return Err(errors::from_lakefed(lakefed::Error::InvalidArgument(
                    format!(
                        "unknown storage option '{other}': expected endpoint, region, access_key_id, \
                     secret_access_key, session_token, force_path_style, allow_http, \
                     allow_unsafe_rename or options (a dict of object_store keys)"
                    ),
                )));
            }
        }
    }
    Ok(storage)
}

/// A duration given as seconds (int or float) or a `datetime.timedelta`.
fn duration(name: &str, value: &Bound<'_, PyAny>) -> PyResult<Duration> {
    let invalid = || {
        errors::from_lakefed(lakefed::Error::InvalidArgument(format!(
            "{name} must be a number of seconds or a timedelta, at least 0"
        )))
    };
    if value.is_instance_of::<PyInt>() || value.is_instance_of::<PyFloat>() {
        let seconds: f64 = value.extract()?;
        return Duration::try_from_secs_f64(seconds).map_err(|_| invalid());
    }
    value.extract::<Duration>().map_err(|_| invalid())
}

/// The workspace settings given to a `register_*` call.
fn auth_config(
    host: Option<String>,
    token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    profile: Option<String>,
) -> AuthConfig {
    let mut auth = AuthConfig::default();
    auth.host = host;
    auth.token = token.map(Secret::new);
    auth.client_id = client_id;
    auth.client_secret = client_secret.map(Secret::new);
    auth.profile = profile;
    auth
}
