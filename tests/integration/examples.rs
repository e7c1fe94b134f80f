//! The programs of `examples/`, run against the real servers: the query
//! service's timeouts and disconnects leave no Spark operation running, and
//! every kind of source registers from code.

use std::time::Duration;

use lakefed::SessionContextExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::spark_env::{self, NS, client, context};

#[path = "../../examples/query_service/service.rs"]
mod service;

#[path = "../../examples/all_sources/sources.rs"]
mod sources;

/// Serves `ctx` on a free loopback port; returns the address.
async fn serve(ctx: datafusion::prelude::SessionContext) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let router = service::router(ctx, Duration::from_secs(60));
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    address
}

/// Sends `POST /query{query}` with `sql` on a raw connection, which the
/// caller may drop before the answer.
async fn send_query(address: &str, query: &str, sql: &str) -> TcpStream {
    let mut stream = TcpStream::connect(address).await.unwrap();
    let request = format!(
        "POST /query{query} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\
         Content-Length: {}\r\n\r\n{sql}",
        sql.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    stream
}

/// The whole answer to a request sent by [`send_query`]: status line and body.
async fn answer(mut stream: TcpStream) -> (String, String) {
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response.lines().next().unwrap_or_default().to_string();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default();
    (status, body)
}

async fn metrics(address: &str) -> service::Metrics {
    let stream = TcpStream::connect(address).await.unwrap();
    let mut stream = stream;
    let request = format!("GET /metrics HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let (status, body) = answer(stream).await;
    assert!(status.contains("200"), "{status}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|err| panic!("{err}: {body}"))
}

/// Waits until the service has no query in flight (a dropped query's
/// handler has ended), then for the session's background requests.
async fn settle(address: &str, ctx: &datafusion::prelude::SessionContext) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while metrics(address).await.in_flight > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the query is still in flight"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let background = ctx.background_work().unwrap();
    tokio::time::timeout(Duration::from_secs(20), background.finished())
        .await
        .expect("the interrupts are sent within their request timeout");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_query_service_answers_and_counts_per_source() {
    let ctx = context().await;
    let address = serve(ctx.clone()).await;
    let sql = format!("SELECT bucket, label FROM spark.{NS}.buckets ORDER BY bucket LIMIT 2");
    let (status, body) = answer(send_query(&address, "", &sql).await).await;
    assert!(status.contains("200"), "{status}: {body}");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    let expected = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
    assert_eq!(
        rows.len(),
        expected.iter().map(|b| b.num_rows()).sum::<usize>()
    );

    let metrics = metrics(&address).await;
    assert_eq!((metrics.in_flight, metrics.completed), (0, 1));
    let spark = &metrics.sources["spark"];
    assert!(
        spark.scans >= 1 && spark.rows as usize >= rows.len(),
        "{spark:?}"
    );

    // Only queries: a statement would change the session every request shares.
    let (status, body) =
        answer(send_query(&address, "", "SET datafusion.execution.batch_size = 1").await).await;
    assert!(status.contains("400"), "{status}: {body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_query_over_its_timeout_stops_its_spark_operation() {
    let ctx = context().await;
    let spark = client(&ctx);
    let address = serve(ctx.clone()).await;
    let sql = format!("SELECT count(*) FROM spark.{NS}.endless");
    let (status, body) = answer(send_query(&address, "?timeout_ms=3000", &sql).await).await;
    assert!(status.contains("504"), "{status}: {body}");
    assert!(body.contains("timeout"), "{body}");
    settle(&address, &ctx).await;
    // Had the operation not been interrupted, this would interrupt it now
    // and return its id.
    assert_eq!(spark.interrupt_all().await.unwrap(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_disconnects_stops_its_spark_operation() {
    let ctx = context().await;
    let spark = client(&ctx);
    let address = serve(ctx.clone()).await;
    let sql = format!("SELECT count(*) FROM spark.{NS}.endless");
    let request = send_query(&address, "", &sql).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(metrics(&address).await.in_flight, 1, "the query is running");
    drop(request);
    settle(&address, &ctx).await;
    assert_eq!(spark.interrupt_all().await.unwrap(), Vec::<String>::new());
}

/// `examples/all_sources`: Delta, Spark Connect, Databricks SQL and Unity
/// Catalog registered from code, against the workspace emulator.
#[tokio::test(flavor = "multi_thread")]
async fn every_kind_of_source_registers_from_code() {
    spark_env::fixtures().await;
    // No other test injects failures into the emulator meanwhile.
    let _turn = crate::databricks::turn().await;
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
    let endpoints = sources::Endpoints {
        spark_url: spark_env::url(),
        workspace_url: var("LAKEFED_TEST_WORKSPACE_URL"),
        token: var("LAKEFED_TEST_WORKSPACE_TOKEN"),
        warehouse_id: var("LAKEFED_TEST_WORKSPACE_WAREHOUSE"),
        uc_catalog: "spark_catalog".to_string(),
        uc_storage_endpoint: Some(var("LAKEFED_TEST_UC_S3_ENDPOINT")),
    };
    let dir = tempfile::tempdir().unwrap();
    let ctx = lakefed::new_session_context();
    sources::register_all(&ctx, dir.path(), &endpoints)
        .await
        .unwrap();
    let catalogs = ctx
        .sql("SELECT DISTINCT catalog_name FROM information_schema.schemata ORDER BY 1")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(
        spark_env::format_rows(&catalogs),
        ["datafusion", "dbx", "spark", "uc"]
    );
    let sql = format!(
        "SELECT count(*) FROM orders o JOIN lake.orders l USING (order_id) \
         JOIN spark.{NS}.buckets b ON b.bucket = o.order_id \
         JOIN dbx.{NS}.buckets d ON d.bucket = o.order_id"
    );
    let joined = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
    let expected = ctx
        .sql(&format!(
            "SELECT count(*) FROM spark.{NS}.buckets b JOIN spark.{NS}.buckets d USING (bucket) \
             WHERE b.bucket IN (1, 2, 3)"
        ))
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(
        spark_env::format_rows(&joined),
        spark_env::format_rows(&expected)
    );
    assert_ne!(
        spark_env::format_rows(&joined),
        ["0"],
        "the join matched no row"
    );
    ctx.shutdown().await;
}
