//! Partition pruning and file skipping really happen: counted in the scan's
//! metrics (`count_files_scanned`, Parquet `bytes_scanned`).

use std::sync::Arc;

use datafusion::physical_plan::{ExecutionPlan, collect};
use datafusion::prelude::SessionContext;
use lakefed::SessionContextExt;
use lakefed::sources::delta::{SaveMode, StorageOptions, write_batches};

/// Sum of a metric over every operator of an executed plan.
fn metric(plan: &Arc<dyn ExecutionPlan>, name: &str) -> usize {
    let own = plan
        .metrics()
        .and_then(|m| m.sum_by_name(name))
        .map_or(0, |v| v.as_usize());
    own + plan
        .children()
        .iter()
        .map(|child| metric(child, name))
        .sum::<usize>()
}

/// Runs `sql`; returns (rows, files scanned, bytes scanned).
async fn run(ctx: &SessionContext, sql: &str) -> (usize, usize, usize) {
    let plan = ctx
        .sql(sql)
        .await
        .unwrap()
        .create_physical_plan()
        .await
        .unwrap();
    let batches = collect(Arc::clone(&plan), ctx.task_ctx()).await.unwrap();
    let rows = batches.iter().map(|b| b.num_rows()).sum();
    (
        rows,
        metric(&plan, "count_files_scanned"),
        metric(&plan, "bytes_scanned"),
    )
}

/// Four partitions (`part` 0..3) written in two commits with disjoint `id`
/// ranges: eight files.
async fn table(dir: &std::path::Path) -> String {
    let location = dir.join("t").to_string_lossy().into_owned();
    let ctx = SessionContext::new();
    for commit in 0..2 {
        let sql = format!(
            "SELECT id, CAST(id % 4 AS INT) AS part, repeat('x', 100) AS payload \
             FROM generate_series({}, {}) AS g(id)",
            commit * 10_000,
            commit * 10_000 + 9_999
        );
        let batches = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
        write_batches(
            &location,
            &StorageOptions::default(),
            batches,
            &["part"],
            SaveMode::Append,
        )
        .await
        .unwrap();
    }
    location
}

#[tokio::test]
async fn partition_filters_prune_files() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = lakefed::new_session_context();
    ctx.register_delta("t", &table(dir.path()).await)
        .await
        .unwrap();

    let (rows, all_files, all_bytes) = run(&ctx, "SELECT id, payload FROM t").await;
    assert_eq!((rows, all_files), (20_000, 8));
    let (rows, files, bytes) = run(&ctx, "SELECT id, payload FROM t WHERE part = 2").await;
    assert_eq!((rows, files), (5_000, 2));
    assert!(
        bytes * 3 < all_bytes,
        "pruned scan read {bytes} of {all_bytes} bytes"
    );
}

#[tokio::test]
async fn statistics_skip_files() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = lakefed::new_session_context();
    ctx.register_delta("t", &table(dir.path()).await)
        .await
        .unwrap();

    // Only the second commit's files hold ids >= 15000.
    let (rows, files, _) = run(&ctx, "SELECT id FROM t WHERE id >= 15000").await;
    assert_eq!((rows, files), (5_000, 4));
    // No file can hold this id: nothing is read.
    let (rows, files, bytes) = run(&ctx, "SELECT id FROM t WHERE id = 123456").await;
    assert_eq!((rows, files, bytes), (0, 0, 0));
    // Partition and statistics together.
    let (rows, files, _) = run(&ctx, "SELECT id FROM t WHERE id < 100 AND part = 1").await;
    assert_eq!((rows, files), (25, 1));
}

#[tokio::test]
async fn limit_reaches_the_scan() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = lakefed::new_session_context();
    ctx.register_delta("t", &table(dir.path()).await)
        .await
        .unwrap();
    let (rows, _, bytes) = run(&ctx, "SELECT id, payload FROM t LIMIT 10").await;
    let (_, _, all_bytes) = run(&ctx, "SELECT id, payload FROM t").await;
    assert_eq!(rows, 10);
    assert!(
        bytes < all_bytes,
        "a LIMIT 10 scan read {bytes} of {all_bytes} bytes"
    );
}
