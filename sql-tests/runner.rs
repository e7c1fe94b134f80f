//! Runs the `.slt` suites under `sql-tests/` (sqllogictest format) against a
//! lakefed session.
//!
//! Each file gets a fresh session with:
//! - schema `fx`: the fixture Delta tables of `fixtures.rs`, written once per run;
//! - schema `scratch`: an empty directory of its own, for writes;
//! - variables `${FIXTURES}` and `${SCRATCH}` (after `control substitution on`);
//! - for files under `spark/`, catalog `spark`: a remote engine with the
//!   fixture tables of `spark/fixtures.sql` in namespace `lakefed_slt`
//!   (created once per run). Each such file runs six times: against Spark
//!   (`$LAKEFED_TEST_SPARK_URL`, label `spark`), against Sail
//!   (`$LAKEFED_TEST_SAIL_URL`, label `sail`), and against a Databricks SQL
//!   warehouse (`$LAKEFED_TEST_WORKSPACE_URL`, the workspace emulator, whose
//!   warehouse runs on the Spark server above and so sees its fixture
//!   tables; label `databricks`), each with federation on (label
//!   `federated`) and off (`SET lakefed.federation = false`, label
//!   `unfederated`), so every expected result is checked with and without
//!   subplan pushdown. `skipif`/`onlyif` records mark where servers or modes
//!   differ (EXPLAIN output).
//! - for files under `databricks/`, both: catalog `dbx` (the warehouse) and
//!   catalog `spark` (the Spark server it runs on, through Spark Connect),
//!   with the same fixture tables; each file runs federated and unfederated.
//! - for files under `unity_catalog/`, the same plus catalog `uc`: the
//!   emulator's Unity Catalog (`spark_catalog`) with the warehouse `dbx` as
//!   its compute, holding the tables of `unity_catalog/fixtures.json` in
//!   namespace `lakefed_slt_uc` (created once per run) beside the Spark
//!   fixtures. Each file runs three times: `route = "auto"` (Delta tables
//!   read from storage; label `route-auto`) federated and unfederated, and
//!   `route = "compute"` (every table through the warehouse; label
//!   `route-compute`) federated, so each expected result holds whichever
//!   way a table is read.
//!
//! `cargo test --test sqllogictests -- <filter>` runs the files whose path
//! contains `<filter>`; `-- --complete <filter>` rewrites their expected
//! results from what lakefed returns (review the diff before committing).

mod fixtures;
mod spark_fixtures;
mod uc_fixtures;

use std::path::{Path, PathBuf};

use datafusion::prelude::SessionContext;
use lakefed::SessionContextExt;
use lakefed::slt::{SltOptions, find_slt_files};
use lakefed::sources::databricks_sql::DatabricksSqlOptions;
use lakefed::sources::delta::StorageOptions;
use lakefed::sources::unity_catalog::{Route, UnityCatalogOptions};
use lakefed::workspace::auth::AuthConfig;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let complete = std::env::args().any(|arg| arg == "--complete");
    let filter = std::env::args().skip(1).find(|arg| !arg.starts_with('-'));
    let work = tempfile::tempdir()?;
    let fixtures = work.path().join("fixtures");
    fixtures::create(&fixtures).await?;

    let files = find_slt_files(&[Path::new(env!("CARGO_MANIFEST_DIR")).join("sql-tests")])?;
    let files: Vec<_> = files
        .into_iter()
        .filter(|f| {
            filter
                .as_ref()
                .is_none_or(|pattern| f.to_string_lossy().contains(pattern.as_str()))
        })
        .collect();
    if files.is_empty() {
        return Err("no .slt file matched".into());
    }
    // Each Spark suite runs once per Spark Connect server: Spark itself and Sail.
    let servers = if files.iter().any(|file| {
        ["spark", "databricks", "unity_catalog"]
            .iter()
            .any(|s| is_suite(file, s))
    }) {
        spark_servers().await?
    } else {
        Vec::new()
    };
    let mut runs: Vec<(&PathBuf, Option<SparkRun>)> = Vec::new();
    for file in &files {
        if is_suite(file, "spark") {
            for server in &servers {
                for federated in [true, false] {
                    runs.push((file, Some(SparkRun::alone(server, federated))));
                }
            }
        } else if is_suite(file, "databricks") || is_suite(file, "unity_catalog") {
            let [spark, .., warehouse] = servers.as_slice() else {
                unreachable!("spark_servers lists Spark first and the warehouse last")
            };
            let modes: &[(Option<Route>, bool)] = if is_suite(file, "databricks") {
                &[(None, true), (None, false)]
            } else {
                &[
                    (Some(Route::Auto), true),
                    (Some(Route::Auto), false),
                    (Some(Route::Compute), true),
                ]
            };
            for &(route, federated) in modes {
                let mut run = SparkRun::beside_spark(warehouse, spark, federated);
                run.unity_catalog = route;
                runs.push((file, Some(run)));
            }
        } else {
            runs.push((file, None));
        }
    }
    let (mut passed, mut failed) = (0, 0);
    for (index, (file, server)) in runs.into_iter().enumerate() {
        let scratch = work.path().join(format!("scratch-{index}"));
        std::fs::create_dir_all(&scratch)?;
        // `--complete` writes the expected results of the first run only.
        if complete
            && server.as_ref().is_some_and(|s| {
                let first_server = s.server.label == SPARK_SERVERS[0].0 || s.spark.is_some();
                !first_server || !s.federated || s.unity_catalog == Some(Route::Compute)
            })
        {
            continue;
        }
        let name = match &server {
            Some(run) => {
                let route = run.route().map(|r| format!(", {r}")).unwrap_or_default();
                let (label, mode) = (run.server.label, run.mode());
                format!("{} [{label}, {mode}{route}]", file.display())
            }
            None => file.display().to_string(),
        };
        match run_file(file, &fixtures, &scratch, server.as_ref(), complete).await {
            Ok(()) => {
                passed += 1;
                println!("ok   {name}");
            }
            Err(err) => {
                failed += 1;
                println!("FAIL {name}\n{err}\n");
            }
        }
    }
    println!("sqllogictest: {passed} passed, {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
    Ok(())
}

/// The Spark namespace holding the fixture tables of the Spark suites.
const SPARK_NAMESPACE: &str = "lakefed_slt";

/// The Spark Connect servers the Spark suites run against: a label (for
/// `skipif`/`onlyif` in the `.slt` files) and the variable with its URL.
const SPARK_SERVERS: [(&str, &str); 2] = [
    ("spark", spark_fixtures::URL_ENV),
    ("sail", "LAKEFED_TEST_SAIL_URL"),
];

/// The workspace emulator's URL, PAT and warehouse (scripts/test.sh sets them).
const WORKSPACE_ENV: [&str; 3] = [
    "LAKEFED_TEST_WORKSPACE_URL",
    "LAKEFED_TEST_WORKSPACE_TOKEN",
    "LAKEFED_TEST_WORKSPACE_WAREHOUSE",
];

/// A server the Spark suites run against, with the fixture tables created.
struct SparkServer {
    label: &'static str,
    attach: Attach,
}

/// How a server is attached as catalog `spark`.
enum Attach {
    SparkConnect(String),
    DatabricksSql {
        host: String,
        token: String,
        warehouse_id: String,
    },
}

/// One run of a Spark suite: a server, federation on or off.
struct SparkRun<'a> {
    server: &'a SparkServer,
    /// The catalog the server is attached as.
    catalog: &'static str,
    /// A Spark Connect server also attached, as catalog `spark`.
    spark: Option<&'a SparkServer>,
    /// The warehouse's Unity Catalog also attached, as catalog `uc`, with
    /// this route.
    unity_catalog: Option<Route>,
    federated: bool,
}

impl<'a> SparkRun<'a> {
    /// `server` as catalog `spark`.
    fn alone(server: &'a SparkServer, federated: bool) -> Self {
        Self {
            server,
            catalog: "spark",
            spark: None,
            unity_catalog: None,
            federated,
        }
    }

    /// The warehouse as catalog `dbx` beside `spark` as catalog `spark`.
    fn beside_spark(warehouse: &'a SparkServer, spark: &'a SparkServer, federated: bool) -> Self {
        Self {
            server: warehouse,
            catalog: "dbx",
            spark: Some(spark),
            unity_catalog: None,
            federated,
        }
    }

    /// The run's route label for `skipif`/`onlyif`, for Unity Catalog runs.
    fn route(&self) -> Option<&'static str> {
        self.unity_catalog.map(|route| match route {
            Route::Compute => "route-compute",
            _ => "route-auto",
        })
    }

    /// The run's label for `skipif`/`onlyif`.
    fn mode(&self) -> &'static str {
        if self.federated {
            "federated"
        } else {
            "unfederated"
        }
    }
}

/// Every server of `SPARK_SERVERS`; an error (never a skip) when one is not
/// configured.
async fn spark_servers() -> Result<Vec<SparkServer>, BoxError> {
    let mut servers = Vec::new();
    for (label, variable) in SPARK_SERVERS {
        let url = std::env::var(variable).map_err(|_| {
            format!(
                "{variable} is not set: the Spark suites also run against {label}; \
                 scripts/test.sh starts it and sets the variable"
            )
        })?;
        // One Spark session for the fixtures and every suite: Sail keeps
        // tables per session.
        let url = with_session(&url, &uuid::Uuid::new_v4().to_string());
        let client = lakefed::unstable::SparkConnectClient::new(&url.parse()?, Default::default())?;
        spark_fixtures::create(&client, SPARK_NAMESPACE)
            .await
            .map_err(|err| format!("{label}: {err}"))?;
        servers.push(SparkServer {
            label,
            attach: Attach::SparkConnect(url),
        });
    }
    let [host, token, warehouse_id] = WORKSPACE_ENV.map(|variable| {
        std::env::var(variable).map_err(|_| {
            format!(
                "{variable} is not set: the Spark suites also run against a Databricks SQL \
                 warehouse; scripts/test.sh starts the workspace emulator and sets it"
            )
        })
    });
    let host = host?;
    uc_fixtures::create(&host)
        .await
        .map_err(|err| format!("Unity Catalog fixtures: {err}"))?;
    servers.push(SparkServer {
        label: "databricks",
        attach: Attach::DatabricksSql {
            host,
            token: token?,
            warehouse_id: warehouse_id?,
        },
    });
    Ok(servers)
}

/// The connection string joined to the Spark session `session_id`.
fn with_session(url: &str, session_id: &str) -> String {
    let separator = if url.contains("/;") { ";" } else { "/;" };
    format!("{url}{separator}session_id={session_id}")
}

/// Whether `file` belongs to the suite of folder `suite`.
fn is_suite(file: &Path, suite: &str) -> bool {
    file.parent().is_some_and(|dir| dir.ends_with(suite))
}

/// Registers `server` in `ctx` as catalog `catalog`.
async fn attach(ctx: &SessionContext, catalog: &str, server: &SparkServer) -> Result<(), BoxError> {
    match &server.attach {
        Attach::SparkConnect(url) => ctx.register_spark_connect(catalog, url)?,
        Attach::DatabricksSql {
            host,
            token,
            warehouse_id,
        } => {
            let auth = AuthConfig::with_token(host.clone(), token);
            let mut options = DatabricksSqlOptions::new(warehouse_id);
            options.catalog = Some("spark_catalog".to_string());
            ctx.register_databricks_sql(catalog, &auth, options).await?;
        }
    }
    Ok(())
}

/// Registers the Unity Catalog of the workspace `server` as catalog `uc`,
/// answering governed tables on its warehouse, attached as `compute`.
async fn attach_unity_catalog(
    ctx: &SessionContext,
    server: &SparkServer,
    compute: &str,
    route: Route,
) -> Result<(), BoxError> {
    let Attach::DatabricksSql { host, token, .. } = &server.attach else {
        return Err("Unity Catalog runs need the workspace emulator".into());
    };
    let endpoint = std::env::var(uc_fixtures::S3_ENV).map_err(|_| {
        format!(
            "{} is not set: the Unity Catalog suites read the emulator's S3 server; \
             scripts/test.sh sets it",
            uc_fixtures::S3_ENV
        )
    })?;
    let auth = AuthConfig::with_token(host.clone(), token);
    let mut options = UnityCatalogOptions::default();
    options.catalog = Some("spark_catalog".to_string());
    options.compute = Some(compute.to_string());
    options.route = route;
    options.storage.endpoint = Some(endpoint);
    options.storage.allow_http = Some(true);
    options.storage.force_path_style = Some(true);
    options.storage.region = Some("us-east-1".to_string());
    ctx.register_unity_catalog("uc", &auth, options).await?;
    Ok(())
}

async fn run_file(
    file: &Path,
    fixtures: &Path,
    scratch: &Path,
    spark: Option<&SparkRun<'_>>,
    complete: bool,
) -> Result<(), BoxError> {
    let ctx = lakefed::new_session_context();
    let mut options = SltOptions::default();
    options.complete = complete;
    if let Some(run) = spark {
        attach(&ctx, run.catalog, run.server).await?;
        if let Some(server) = run.spark {
            attach(&ctx, "spark", server).await?;
        }
        if let Some(route) = run.unity_catalog {
            attach_unity_catalog(&ctx, run.server, run.catalog, route).await?;
        }
        ctx.sql(&format!("SET lakefed.federation = {}", run.federated))
            .await?;
        options.labels.push(run.server.label.to_string());
        options.labels.push(run.mode().to_string());
        options.labels.extend(run.route().map(str::to_string));
    }
    ctx.register_delta_schema("fx", &fixtures.to_string_lossy(), StorageOptions::default())?;
    ctx.register_delta_schema(
        "scratch",
        &scratch.to_string_lossy(),
        StorageOptions::default(),
    )?;
    for (name, dir) in [("FIXTURES", fixtures), ("SCRATCH", scratch)] {
        let dir = dir.to_string_lossy().into_owned();
        options.variables.insert(name.to_string(), dir);
    }
    lakefed::slt::run_file(ctx, file, &options).await?;
    Ok(())
}
