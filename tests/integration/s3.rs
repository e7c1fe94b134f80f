//! Delta tables on a real S3-compatible server on loopback.

use std::time::{Duration, Instant};

use lakefed::SessionContextExt;
use lakefed::sources::delta::TableVersion;

use crate::s3_env::{BUCKET, endpoint, options, unique_prefix};

async fn values(ctx: &datafusion::prelude::SessionContext, sql: &str) -> Vec<String> {
    let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches)
        .unwrap()
        .to_string();
    text.lines()
        .skip(3)
        .filter(|l| !l.starts_with('+'))
        .map(|l| l.replace(' ', ""))
        .collect()
}

// `CREATE TABLE AS` into a Delta directory blocks in a synchronous
// DataFusion call: a multi-threaded runtime.
#[tokio::test(flavor = "multi_thread")]
async fn write_and_read_delta_on_s3() {
    let endpoint = endpoint();
    let prefix = unique_prefix("warehouse");
    let ctx = lakefed::new_session_context();
    ctx.register_delta_schema("lake", &prefix, options(&endpoint))
        .unwrap();

    ctx.sql("CREATE TABLE lake.orders AS SELECT CAST(id AS BIGINT) AS id, concat('o', id) AS label FROM generate_series(1, 100) AS g(id)")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    ctx.sql("INSERT INTO lake.orders VALUES (1000, 'late')")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();

    assert_eq!(
        values(&ctx, "SELECT count(*) FROM lake.orders").await,
        ["|101|"]
    );
    assert_eq!(
        values(&ctx, "SELECT label FROM lake.orders WHERE id = 1000").await,
        ["|late|"]
    );
    assert_eq!(
        values(
            &ctx,
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'lake'"
        )
        .await,
        ["|orders|"]
    );

    // The same table registered on its own, at version 0 (before the INSERT).
    ctx.register_delta_with(
        "orders_v0",
        &format!("{prefix}/orders"),
        options(&endpoint),
        TableVersion::Version(0),
    )
    .await
    .unwrap();
    assert_eq!(
        values(&ctx, "SELECT count(*) FROM orders_v0").await,
        ["|100|"]
    );
}

#[tokio::test]
async fn missing_table_on_s3_is_not_a_table() {
    let endpoint = endpoint();
    let ctx = lakefed::new_session_context();
    let err = ctx
        .register_delta_with(
            "t",
            &unique_prefix("nothing"),
            options(&endpoint),
            TableVersion::Latest,
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("is not a Delta table"), "{err}");
}

#[tokio::test]
async fn missing_bucket_is_a_clear_error() {
    let endpoint = endpoint();
    let ctx = lakefed::new_session_context();
    let err = ctx
        .register_delta_with(
            "t",
            "s3://no-such-bucket-here/t",
            options(&endpoint),
            TableVersion::Latest,
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("s3://no-such-bucket-here/t"), "{err}");
}

/// The second server (next port) checks credentials and knows no key.
#[tokio::test]
async fn wrong_credentials_are_a_clear_error() {
    let endpoint = endpoint();
    let (host, port) = endpoint.rsplit_once(':').unwrap();
    let checking = format!("{host}:{}", port.parse::<u16>().unwrap() + 1);
    let ctx = lakefed::new_session_context();
    let err = ctx
        .register_delta_with(
            "t",
            &format!("s3://{BUCKET}/t"),
            options(&checking),
            TableVersion::Latest,
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("access denied; check the credentials"),
        "{err}"
    );
    assert!(!err.contains("test-secret"), "secret leaked: {err}");
}

#[tokio::test]
async fn unreachable_s3_fails_fast_with_a_clear_error() {
    let mut options = options("http://127.0.0.1:9");
    options
        .extra
        .insert("max_retries".to_string(), "1".to_string());
    options
        .extra
        .insert("retry_timeout".to_string(), "5s".to_string());
    let ctx = lakefed::new_session_context();
    let started = Instant::now();
    let err = ctx
        .register_delta_with(
            "t",
            &format!("s3://{BUCKET}/t"),
            options,
            TableVersion::Latest,
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
    assert!(err.contains(&format!("s3://{BUCKET}/t")), "{err}");
    assert!(!err.contains("test-secret"), "secret leaked: {err}");
}
