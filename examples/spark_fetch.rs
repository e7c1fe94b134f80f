//! A warm lakefed session attached to a Spark Connect server or a Databricks
//! SQL warehouse, for the fetch and federation benchmarks
//! (`benches/compare_spark.py`, `compare_federation.py`,
//! `compare_databricks.py`):
//!
//! ```sh
//! cargo run --release --example spark_fetch -- sc://127.0.0.1:15002 [DELTA_DIR]
//! DATABRICKS_HOST=... DATABRICKS_TOKEN=... \
//!     cargo run --release --example spark_fetch -- databricks:WAREHOUSE_ID [DELTA_DIR]
//! ```
//!
//! It registers the server as catalog `spark` (a warehouse as catalog `dbx`,
//! its current catalog, authenticated by Databricks unified auth), and, if
//! given, the Delta tables under `DELTA_DIR` as schema `lake`; prints
//! `ready`, then reads one
//! DataFusion SQL statement per line from stdin (`SET` statements included),
//! runs it, and prints one line: wall seconds, rows, Arrow bytes received
//! from Spark, and the seconds spent waiting on the server and decoding
//! Arrow (summed over the remote scans).

use std::io::BufRead;
use std::sync::Arc;
use std::time::Instant;

use datafusion::physical_plan::{ExecutionPlan, collect};
use lakefed::SessionContextExt;
use lakefed::sources::databricks_sql::DatabricksSqlOptions;
use lakefed::workspace::auth::AuthConfig;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let url = std::env::args()
        .nth(1)
        .ok_or("usage: spark_fetch sc://host:port|databricks:WAREHOUSE_ID [DELTA_DIR]")?;
    let ctx = lakefed::new_session_context();
    match url.strip_prefix("databricks:") {
        Some(warehouse_id) => {
            let options = DatabricksSqlOptions::new(warehouse_id);
            ctx.register_databricks_sql("dbx", &AuthConfig::default(), options)
                .await?;
        }
        None => ctx.register_spark_connect("spark", &url)?,
    }
    if let Some(delta_dir) = std::env::args().nth(2) {
        ctx.register_delta_schema("lake", &delta_dir, Default::default())?;
    }
    println!("ready");
    for line in std::io::stdin().lock().lines() {
        let sql = line?;
        let started = Instant::now();
        let plan = ctx.sql(&sql).await?.create_physical_plan().await?;
        let batches = collect(Arc::clone(&plan), ctx.task_ctx()).await?;
        let seconds = started.elapsed().as_secs_f64();
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        let bytes = remote_metric(&plan, "bytes_received");
        let wait = remote_metric(&plan, "wait_time") as f64 / 1e9;
        let decode = remote_metric(&plan, "decode_time") as f64 / 1e9;
        println!("{seconds:.6} {rows} {bytes} {wait:.6} {decode:.6}");
    }
    Ok(())
}

/// A metric summed over the plan's remote scans.
fn remote_metric(plan: &Arc<dyn ExecutionPlan>, name: &str) -> usize {
    let own = if plan.name() == "RemoteScanExec" {
        plan.metrics()
            .and_then(|metrics| metrics.sum_by_name(name))
            .map_or(0, |value| value.as_usize())
    } else {
        0
    };
    own + plan
        .children()
        .into_iter()
        .map(|child| remote_metric(child, name))
        .sum::<usize>()
}
