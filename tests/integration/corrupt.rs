//! A damaged Delta log gives a clear error naming the table, never a panic
//! or an empty result.

use datafusion::prelude::SessionContext;
use lakefed::SessionContextExt;
use lakefed::sources::delta::{SaveMode, StorageOptions, write_batches};

async fn small_table(dir: &std::path::Path) -> std::path::PathBuf {
    let location = dir.join("t");
    let batches = SessionContext::new()
        .sql("SELECT 1 AS id")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let options = StorageOptions::default();
    write_batches(
        &location.to_string_lossy(),
        &options,
        batches,
        &[],
        SaveMode::ErrorIfExists,
    )
    .await
    .unwrap();
    location
}

#[tokio::test]
async fn corrupt_commit_json_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let location = small_table(dir.path()).await;
    std::fs::write(
        location.join("_delta_log/00000000000000000000.json"),
        "{not json\n",
    )
    .unwrap();
    let ctx = lakefed::new_session_context();
    let err = ctx
        .register_delta("t", &location.to_string_lossy())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("the Delta log of table") && err.contains("is invalid") && err.contains("/t"),
        "{err}"
    );
}

#[tokio::test]
async fn missing_data_file_is_a_clear_error_at_query_time() {
    let dir = tempfile::tempdir().unwrap();
    let location = small_table(dir.path()).await;
    for entry in std::fs::read_dir(&location).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "parquet") {
            std::fs::remove_file(path).unwrap();
        }
    }
    let ctx = lakefed::new_session_context();
    ctx.register_delta("t", &location.to_string_lossy())
        .await
        .unwrap();
    let err = ctx
        .sql("SELECT * FROM t")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not found") && err.contains(".parquet"),
        "{err}"
    );
}
