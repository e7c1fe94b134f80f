//! The `lakefed` command line: run SQL over the sources of a `lakefed.toml`.

mod demo;
mod json_lines;
mod output;
mod progress;
mod repl;
mod slt;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use datafusion::prelude::SessionContext;
use lakefed::{BackgroundWork, Config, SessionContextExt};

use output::Format;

/// Embedded query federation for the lakehouse.
#[derive(Parser)]
#[command(name = "lakefed", version, about)]
struct Cli {
    /// Configuration file naming the sources (default: ./lakefed.toml if present).
    #[arg(long, short, global = true, env = "LAKEFED_CONFIG")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one query and print its result.
    Sql {
        /// Output format.
        #[arg(long, short, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Write the result to this Parquet file instead of printing it.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// The SQL query.
        query: String,
    },
    /// Show the plan of a query, with what each scan receives.
    Explain {
        /// Run the query and show the metrics of every operator.
        #[arg(long)]
        analyze: bool,
        /// The SQL query.
        query: String,
    },
    /// An interactive SQL shell with line editing and history.
    Repl,
    /// Run sqllogictest (.slt) files against the configured sources: one
    /// fresh session per file; `onlyif`/`skipif` may name a source kind
    /// (delta, spark_connect, databricks_sql, unity_catalog).
    Slt {
        /// Rewrite the files' expected results from what lakefed returns.
        #[arg(long)]
        complete: bool,
        /// `.slt` files, or directories searched for them at any depth.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Create sample Delta tables and run a query that joins and aggregates them.
    Demo {
        /// Directory for the sample tables (default: a temporary directory).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// A Spark Connect server (`sc://host:port`) to hold the customers
        /// table; without it, customers is a Delta table too.
        #[arg(long)]
        spark: Option<String>,
        /// A Databricks workspace (URL; token from DATABRICKS_TOKEN) whose
        /// Unity Catalog holds `lakefed_demo_uc.countries` and `.targets`
        /// (scripts/demo.sh creates them in the local workspace emulator):
        /// adds a query over all four kinds of source.
        #[arg(long, requires_all = ["warehouse", "uc_storage_endpoint", "spark"])]
        workspace: Option<String>,
        /// The workspace's SQL warehouse id.
        #[arg(long)]
        warehouse: Option<String>,
        /// The S3 endpoint of the Unity Catalog tables (vended credentials
        /// name none).
        #[arg(long)]
        uc_storage_endpoint: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the command; then gives the background requests of its sessions
/// (interrupts of remote operations cancelled by Ctrl-C, the ends of Spark
/// sessions) a moment to reach their servers.
async fn run(cli: Cli) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let background = BackgroundWork::current()?;
    let outcome = run_command(cli, &background).await;
    let _ = tokio::time::timeout(Duration::from_secs(3), background.finished()).await;
    outcome
}

async fn run_command(
    cli: Cli,
    background: &BackgroundWork,
) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let config = cli.config.as_deref();
    match cli.command {
        Command::Demo {
            dir,
            spark,
            workspace,
            warehouse,
            uc_storage_endpoint,
        } => {
            let workspace = match (workspace, warehouse, uc_storage_endpoint) {
                (Some(url), Some(warehouse), Some(storage_endpoint)) => Some(demo::Workspace {
                    url,
                    warehouse,
                    storage_endpoint,
                }),
                _ => None,
            };
            demo::run(dir, spark.as_deref(), workspace.as_ref(), background).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Sql {
            format,
            output,
            query,
        } => {
            let df = config_session(config, background)
                .await?
                .sql(&query)
                .await?;
            Ok(output::run_query(df, format, output.as_deref()).await?)
        }
        Command::Explain { analyze, query } => {
            let df = config_session(config, background)
                .await?
                .sql(&query)
                .await?
                .explain(false, analyze)?;
            Ok(output::run_query(df, Format::Plan, None).await?)
        }
        Command::Repl => {
            repl::run(&config_session(config, background).await?).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Slt { complete, paths } => slt::run(config, &paths, complete, background).await,
    }
}

/// The configuration file: the one given, else `./lakefed.toml` if present.
fn config_file(given: Option<&Path>) -> Option<&Path> {
    let default = Path::new("lakefed.toml");
    given.or_else(|| default.exists().then_some(default))
}

/// A session with the sources of the configuration file, if any.
async fn config_session(
    config: Option<&Path>,
    background: &BackgroundWork,
) -> Result<SessionContext, Box<dyn std::error::Error>> {
    let config = config_file(config).map(Config::from_file).transpose()?;
    Ok(session(config.as_ref(), background).await?)
}

/// A session with the sources of `config`, whose background requests run
/// as `background`.
async fn session(
    config: Option<&Config>,
    background: &BackgroundWork,
) -> lakefed::Result<SessionContext> {
    // Files can be queried by path too: SELECT * FROM 'data.parquet'.
    let ctx = lakefed::new_session_context().enable_url_table();
    ctx.use_background_work(background.clone());
    if let Some(config) = config {
        ctx.register_config(config).await?;
    }
    Ok(ctx)
}
