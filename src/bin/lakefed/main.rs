//! The `lakefed` command line: run SQL over the sources of a `lakefed.toml`.

mod demo;
mod output;
mod progress;
mod repl;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use datafusion::prelude::SessionContext;
use lakefed::{Config, SessionContextExt};

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
    let code = match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    };
    // Shutting the runtime down drops every task still running (a cancelled
    // query's scans), which sends their remote operations an interrupt in
    // the background; give those requests a moment to leave.
    drop(runtime);
    lakefed::finish_background_requests(std::time::Duration::from_secs(3));
    code
}

async fn run(cli: Cli) -> Result<ExitCode, Box<dyn std::error::Error>> {
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
            demo::run(dir, spark.as_deref(), workspace.as_ref()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Sql {
            format,
            output,
            query,
        } => {
            let df = session(config).await?.sql(&query).await?;
            Ok(output::run_query(df, format, output.as_deref()).await?)
        }
        Command::Explain { analyze, query } => {
            let df = session(config)
                .await?
                .sql(&query)
                .await?
                .explain(false, analyze)?;
            Ok(output::run_query(df, Format::Plan, None).await?)
        }
        Command::Repl => {
            repl::run(&session(config).await?).await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn session(config: Option<&Path>) -> Result<SessionContext, Box<dyn std::error::Error>> {
    // Files can be queried by path too: SELECT * FROM 'data.parquet'.
    let ctx = lakefed::new_session_context().enable_url_table();
    let default = Path::new("lakefed.toml");
    let path = config.or_else(|| default.exists().then_some(default));
    if let Some(path) = path {
        let config = Config::from_file(path)?;
        ctx.register_config(&config).await?;
    }
    Ok(ctx)
}
