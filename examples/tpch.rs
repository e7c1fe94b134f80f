//! TPC-H on Delta through lakefed, for the peer comparison
//! (`benches/compare_peers.py`).
//!
//! ```sh
//! cargo run --release --example tpch -- gen --sf 1 --dir .tmp/tpch-sf1
//! cargo run --release --example tpch -- serve --dir .tmp/tpch-sf1
//! ```
//!
//! `serve` registers the tables once, then reads query names (`q1`, `q3`,
//! `q6`) from stdin, one per line, runs each and prints its wall time in
//! seconds and its row count: a warm session, as a service would hold it.

#[path = "../benches/tpch_data.rs"]
mod tpch_data;

use std::io::BufRead;
use std::path::PathBuf;
use std::time::Instant;

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
        Some("serve") => serve(dir).await,
        _ => Err("usage: tpch gen --sf SF --dir DIR | tpch serve --dir DIR".into()),
    }
}

async fn serve(dir: PathBuf) -> Result<(), BoxError> {
    let ctx = lakefed::new_session_context();
    for table in tpch_data::TABLES {
        ctx.register_delta(table, &dir.join(table).to_string_lossy())
            .await?;
    }
    println!("ready");
    for line in std::io::stdin().lock().lines() {
        let name = line?;
        let sql = tpch_data::QUERIES
            .iter()
            .find(|(n, _)| *n == name.trim())
            .map(|(_, sql)| *sql)
            .ok_or_else(|| format!("unknown query {name}"))?;
        let started = Instant::now();
        let batches = ctx.sql(sql).await?.collect().await?;
        let seconds = started.elapsed().as_secs_f64();
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        println!("{seconds:.6} {rows}");
    }
    Ok(())
}
