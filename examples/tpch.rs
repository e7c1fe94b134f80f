//! TPC-H on Delta through lakefed, for the peer comparison
//! (`benches/compare_peers.py`).
//!
//! ```sh
//! cargo run --release --example tpch -- gen --sf 1 --dir .tmp/tpch-sf1
//! cargo run --release --example tpch -- serve --dir .tmp/tpch-sf1 \
//!     [--set datafusion.execution.batch_size=16384 ...]
//! ```
//!
//! `serve` registers the tables once, then reads query names (`q1` to
//! `q22`) from stdin, one per line, runs each and prints its wall time in
//! seconds and its row count, then the rows as JSON lines (every column,
//! `null` included; printed after the time is taken), so the caller can
//! check the answer: a warm session, as a service would hold it.
//! `explain qN` prints the plan of `EXPLAIN ANALYZE` instead. Each
//! `--set KEY=VALUE` sets a DataFusion option first, to measure a setting
//! without a rebuild.

#[path = "../benches/tpch_data.rs"]
mod tpch_data;

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::Instant;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::json::WriterBuilder;
use datafusion::arrow::json::writer::LineDelimited;
use datafusion::prelude::SessionContext;
use lakefed::SessionContextExt;
use tpch_data::BoxError;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let dir = PathBuf::from(value("--dir").ok_or("--dir DIR is required")?);
    match args.first().map(String::as_str) {
        Some("gen") => {
            let sf: f64 = value("--sf").unwrap_or_else(|| "1".to_string()).parse()?;
            tpch_data::generate(sf, &dir).await
        }
        Some("serve") => {
            let settings = args
                .windows(2)
                .filter(|pair| pair[0] == "--set")
                .map(|pair| pair[1].split_once('=').ok_or("--set takes KEY=VALUE"))
                .collect::<Result<Vec<_>, _>>()?;
            serve(dir, &settings).await
        }
        _ => Err(
            "usage: tpch gen --sf SF --dir DIR | tpch serve --dir DIR [--set KEY=VALUE ...]".into(),
        ),
    }
}

async fn serve(dir: PathBuf, settings: &[(&str, &str)]) -> Result<(), BoxError> {
    let ctx = lakefed::new_session_context();
    for (key, value) in settings {
        ctx.state_ref()
            .write()
            .config_mut()
            .options_mut()
            .set(key, value)?;
    }
    for table in tpch_data::TABLES {
        ctx.register_delta(table, &dir.join(table).to_string_lossy())
            .await?;
    }
    println!("ready");
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let (explain, name) = match line.trim().strip_prefix("explain ") {
            Some(name) => (true, name),
            None => (false, line.trim()),
        };
        let sql = tpch_data::QUERIES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, sql)| *sql)
            .ok_or_else(|| format!("unknown query {name}"))?;
        let sql = if explain {
            format!("EXPLAIN ANALYZE {sql}")
        } else {
            sql.to_string()
        };
        let started = Instant::now();
        let batches = match run(&ctx, &sql).await {
            Ok(batches) => batches,
            Err(err) => {
                // One line, so the caller records the failure and goes on.
                println!("error {}", err.to_string().replace('\n', " "));
                continue;
            }
        };
        let seconds = started.elapsed().as_secs_f64();
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        let mut out = std::io::stdout().lock();
        writeln!(out, "{seconds:.6} {rows}")?;
        let mut writer = WriterBuilder::new()
            .with_explicit_nulls(true)
            .build::<_, LineDelimited>(&mut out);
        for batch in &batches {
            writer.write(batch)?;
        }
        writer.finish()?;
        drop(writer);
        out.flush()?;
    }
    Ok(())
}

async fn run(ctx: &SessionContext, sql: &str) -> datafusion::error::Result<Vec<RecordBatch>> {
    ctx.sql(sql).await?.collect().await
}
