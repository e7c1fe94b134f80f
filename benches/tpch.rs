//! The 22 TPC-H queries over Delta tables through lakefed (criterion).
//!
//! Data: `LAKEFED_TPCH_DIR` if set (make it with
//! `cargo run --release --example tpch -- gen --sf 1 --dir DIR`), otherwise
//! scale factor 0.1 generated once under the cargo target directory.
//! The side-by-side run against DuckDB, Polars and datafusion-python is
//! `benches/compare_peers.py` (see benches/README.md).

mod tpch_data;

use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use lakefed::SessionContextExt;
use tokio::runtime::Runtime;

fn data_dir(runtime: &Runtime) -> PathBuf {
    if let Some(dir) = std::env::var_os("LAKEFED_TPCH_DIR") {
        return PathBuf::from(dir);
    }
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
    let dir = target.join("tpch-sf0.1");
    runtime
        .block_on(tpch_data::generate(0.1, &dir))
        .expect("generate TPC-H data");
    dir
}

fn tpch(c: &mut Criterion) {
    let runtime = Runtime::new().expect("tokio runtime");
    let dir = data_dir(&runtime);
    let ctx = lakefed::new_session_context();
    runtime.block_on(async {
        for table in tpch_data::TABLES {
            ctx.register_delta(table, &dir.join(table).to_string_lossy())
                .await
                .expect("register TPC-H table");
        }
    });
    let mut group = c.benchmark_group("tpch");
    group.sample_size(10);
    for (name, sql) in tpch_data::QUERIES {
        group.bench_function(*name, |b| {
            b.to_async(&runtime)
                .iter(|| async { ctx.sql(sql).await.unwrap().collect().await.unwrap() })
        });
    }
    group.finish();
}

criterion_group!(benches, tpch);
criterion_main!(benches);
