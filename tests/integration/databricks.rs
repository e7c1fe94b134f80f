//! The Databricks SQL source against the workspace emulator
//! (`scripts/workspace-emulator.sh`, started by `scripts/test.sh`, which sets
//! `LAKEFED_TEST_WORKSPACE_URL`, `_TOKEN`, `_WAREHOUSE`, `_CLIENT_ID` and
//! `_CLIENT_SECRET`). The emulator runs statements on the real local Spark;
//! its test settings (`/emulator/settings`: chunk size, link and token
//! lifetimes, injected failures) are global, so these tests take turns.

use std::time::{Duration, Instant};

use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::Int64Type;
use futures::TryStreamExt;
use lakefed::sources::databricks_sql::DatabricksSqlOptions;
use lakefed::unstable::{DatabricksSqlClient, StatementMetrics, WorkspaceClient};
use lakefed::workspace::auth::AuthConfig;
use lakefed::{Error, SessionContextExt};
use serde_json::{Value, json};
use tokio::sync::{Mutex, MutexGuard};

/// One test at a time changes the emulator's settings.
pub(crate) async fn turn() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::const_new(());
    let guard = TURN.lock().await;
    admin("reset", json!({})).await;
    guard
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: start the workspace emulator with \
             `scripts/workspace-emulator.sh start` (scripts/test.sh does it and sets it)"
        )
    })
}

pub(crate) fn host() -> String {
    env("LAKEFED_TEST_WORKSPACE_URL")
}

fn token_auth(token: &str) -> AuthConfig {
    AuthConfig::with_token(host(), token)
}

/// The emulator's PAT.
pub(crate) fn auth() -> AuthConfig {
    token_auth(&env("LAKEFED_TEST_WORKSPACE_TOKEN"))
}

/// Options for the emulator's warehouse.
pub(crate) fn options() -> DatabricksSqlOptions {
    let mut options = DatabricksSqlOptions::new(env("LAKEFED_TEST_WORKSPACE_WAREHOUSE"));
    options.workspace.max_retries = 3;
    options
}

fn client_with(auth: AuthConfig, options: DatabricksSqlOptions) -> DatabricksSqlClient {
    let workspace = WorkspaceClient::new(&auth, options.workspace.clone()).unwrap();
    DatabricksSqlClient::new(workspace, options).unwrap()
}

pub(crate) fn client() -> DatabricksSqlClient {
    client_with(auth(), options())
}

/// `POST /emulator/<path>`, and its JSON answer.
pub(crate) async fn admin(path: &str, body: Value) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{}/emulator/{path}", host()))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("the emulator answers");
    let status = response.status();
    let body = response.bytes().await.expect("the emulator answers");
    assert!(
        status.is_success(),
        "{path}: {status}: {}",
        String::from_utf8_lossy(&body)
    );
    serde_json::from_slice(&body).unwrap_or(Value::Null)
}

/// The emulator's counters.
pub(crate) async fn stats() -> Value {
    let body = reqwest::get(format!("{}/emulator/stats", host()))
        .await
        .expect("the emulator answers")
        .bytes()
        .await
        .unwrap();
    serde_json::from_slice(&body).unwrap()
}

pub(crate) fn counter(stats: &Value, name: &str) -> u64 {
    stats.get(name).and_then(Value::as_u64).unwrap_or(0)
}

pub(crate) fn requests(stats: &Value, route: &str) -> u64 {
    stats["requests"]
        .get(route)
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

pub(crate) async fn collect(
    client: &DatabricksSqlClient,
    sql: &str,
    metrics: StatementMetrics,
) -> Vec<RecordBatch> {
    client
        .execute(sql, metrics)
        .await
        .unwrap_or_else(|err| panic!("{sql}: {err}"))
        .try_collect()
        .await
        .unwrap_or_else(|err| panic!("{sql}: {err}"))
}

/// The error `sql` fails with.
async fn error_of(client: &DatabricksSqlClient, sql: &str) -> Error {
    match client.execute(sql, StatementMetrics::default()).await {
        Ok(_) => panic!("{sql} should fail"),
        Err(err) => err,
    }
}

/// The values of the first (BIGINT) column, in order.
fn first_column(batches: &[RecordBatch]) -> Vec<i64> {
    batches
        .iter()
        .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_large_result_arrives_whole_and_in_order_from_parallel_chunks() {
    let _turn = turn().await;
    admin("settings", json!({"chunk_rows": 100_000})).await;
    let before = stats().await;
    let metrics = StatementMetrics::default();
    let batches = collect(
        &client(),
        "SELECT id, id * 2 AS twice FROM range(1000000) ORDER BY id",
        metrics.clone(),
    )
    .await;
    let ids = first_column(&batches);
    assert_eq!(ids.len(), 1_000_000);
    assert!(
        ids.iter().enumerate().all(|(i, id)| *id == i as i64),
        "rows out of order"
    );
    let twice: i64 = batches
        .iter()
        .map(|b| {
            b.column(1)
                .as_primitive::<Int64Type>()
                .values()
                .iter()
                .sum::<i64>()
        })
        .sum();
    assert_eq!(twice, 999_999 * 1_000_000);
    assert_eq!(metrics.chunks.value(), 10);
    let after = stats().await;
    assert_eq!(
        counter(&after, "chunk_downloads") - counter(&before, "chunk_downloads"),
        10
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_link_that_fails_is_fetched_again() {
    let _turn = turn().await;
    admin(
        "settings",
        json!({"chunk_rows": 50_000, "fail_next": [{"path_prefix": "/files/", "status": 403, "count": 2}]}),
    )
    .await;
    let metrics = StatementMetrics::default();
    let batches = collect(&client(), "SELECT id FROM range(200000)", metrics.clone()).await;
    assert_eq!(first_column(&batches).len(), 200_000);
    assert_eq!(metrics.link_refreshes.value(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_link_is_fetched_again() {
    let _turn = turn().await;
    // Links that came with the statement have expired by the time the
    // second chunk is read.
    admin(
        "settings",
        json!({"chunk_rows": 50_000, "link_ttl_seconds": 1}),
    )
    .await;
    let mut options = options();
    options.chunk_concurrency = 1;
    let client = client_with(auth(), options);
    let before = stats().await;
    let mut stream = client
        .execute("SELECT id FROM range(150000)", StatementMetrics::default())
        .await
        .unwrap();
    let mut rows = 0;
    while let Some(batch) = stream.try_next().await.unwrap() {
        rows += batch.num_rows();
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(rows, 150_000);
    let after = stats().await;
    let route = "GET /api/2.0/sql/statements/{statement_id}/result/chunks/{chunk_index}";
    assert!(
        requests(&after, route) > requests(&before, route),
        "no link was fetched again"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn overload_is_retried_after_retry_after() {
    let _turn = turn().await;
    admin(
        "settings",
        json!({"fail_next": [{"path_prefix": "/api/2.0/sql/statements", "status": 503, "retry_after": 1, "count": 2}]}),
    )
    .await;
    let started = Instant::now();
    let batches = collect(
        &client(),
        "SELECT 42L AS answer",
        StatementMetrics::default(),
    )
    .await;
    assert_eq!(first_column(&batches), vec![42]);
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "Retry-After was not waited for"
    );
    assert!(counter(&stats().await, "faults_injected") >= 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_statement_slower_than_the_wait_timeout_is_polled_to_its_end() {
    let _turn = turn().await;
    let mut options = options();
    options.wait_timeout = Duration::from_secs(5);
    let client = client_with(auth(), options);
    let before = stats().await;
    let sql = "SELECT 7L AS n, reflect('java.lang.Thread', 'sleep', 7000L) AS slept";
    let batches = collect(&client, sql, StatementMetrics::default()).await;
    assert_eq!(first_column(&batches), vec![7]);
    let after = stats().await;
    let route = "GET /api/2.0/sql/statements/{statement_id}";
    assert!(
        requests(&after, route) > requests(&before, route),
        "the statement was not polled"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn dropping_a_query_cancels_its_statement() {
    let _turn = turn().await;
    // Dropped while the warehouse holds the request (wait_timeout 10 s), and
    // while the statement is polled (0 s: the request answers at once).
    for wait in [10, 0] {
        let mut options = options();
        options.wait_timeout = Duration::from_secs(wait);
        let client = client_with(auth(), options);
        let before = stats().await;
        let sql = "SELECT reflect('java.lang.Thread', 'sleep', 120000L) AS slept";
        let outcome = tokio::time::timeout(
            Duration::from_secs(3),
            client.execute(sql, StatementMetrics::default()),
        )
        .await;
        assert!(outcome.is_err(), "the statement should still be running");
        wait_for_cancel(&before).await;
    }
}

/// Waits until a cancel has arrived since `before` and nothing runs.
async fn wait_for_cancel(before: &Value) {
    let cancel = "POST /api/2.0/sql/statements/{statement_id}/cancel";
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = stats().await;
        let cancelled = requests(&now, cancel) > requests(before, cancel);
        if cancelled && counter(&now, "running_statements") == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "not cancelled: {now}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_statement_past_its_timeout_is_cancelled() {
    let _turn = turn().await;
    let mut options = options();
    options.statement_timeout = Some(Duration::from_secs(3));
    let client = client_with(auth(), options);
    let before = stats().await;
    let started = Instant::now();
    let err = error_of(
        &client,
        "SELECT reflect('java.lang.Thread', 'sleep', 120000L)",
    )
    .await;
    assert!(started.elapsed() < Duration::from_secs(20), "{err}");
    assert!(
        matches!(&err, Error::Remote { error_class: Some(code), .. } if code == "DEADLINE_EXCEEDED"),
        "{err:?}"
    );
    wait_for_cancel(&before).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_statement_keeps_its_error_code_and_sqlstate() {
    let _turn = turn().await;
    let err = error_of(&client(), "SELECT * FROM lakefed_no_such_schema.t").await;
    let Error::Remote {
        sql_state, message, ..
    } = &err
    else {
        panic!("not a remote error: {err:?}")
    };
    assert_eq!(sql_state.as_deref(), Some("42P01"), "{err}");
    assert!(message.contains("TABLE_OR_VIEW_NOT_FOUND"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_token_is_a_clear_error_that_never_shows_it() {
    let _turn = turn().await;
    let client = client_with(token_auth("dapi-wrong-secret"), options());
    let err = error_of(&client, "SELECT 1").await;
    let text = err.to_string();
    assert!(matches!(err, Error::Remote { .. }), "{err:?}");
    assert!(
        text.contains(&host()) && text.contains("personal access token"),
        "{text}"
    );
    assert!(!text.contains("wrong-secret") && !format!("{client:?}").contains("wrong-secret"));
}

#[tokio::test(flavor = "multi_thread")]
async fn oauth_tokens_are_fetched_and_refreshed_before_they_expire() {
    let _turn = turn().await;
    // Tokens live 62 s and are refreshed a minute before: after 2 s.
    admin("settings", json!({"token_ttl_seconds": 62})).await;
    let auth = AuthConfig::with_oauth_m2m(
        host(),
        env("LAKEFED_TEST_WORKSPACE_CLIENT_ID"),
        env("LAKEFED_TEST_WORKSPACE_CLIENT_SECRET"),
    );
    let client = client_with(auth, options());
    let before = stats().await;
    let token_route = "POST /oidc/v1/token";
    assert_eq!(
        first_column(&collect(&client, "SELECT 1L", StatementMetrics::default()).await),
        vec![1]
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        first_column(&collect(&client, "SELECT 2L", StatementMetrics::default()).await),
        vec![2]
    );
    let after = stats().await;
    assert_eq!(
        requests(&after, token_route) - requests(&before, token_route),
        2
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_workspace_is_a_clear_error() {
    let auth = AuthConfig::with_token("http://127.0.0.1:9", "dapi-x");
    let mut options = options();
    options.workspace.max_retries = 1;
    let started = Instant::now();
    let err = error_of(&client_with(auth, options), "SELECT 1").await;
    assert!(matches!(err, Error::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().contains("127.0.0.1:9"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(30));
}

/// A session with source `dbx` (catalog `spark_catalog`) whose schema
/// `lakefed_dbx_it` has a table `people` of two rows.
async fn session_with_people() -> datafusion::prelude::SessionContext {
    let client = client();
    for statement in [
        "CREATE NAMESPACE IF NOT EXISTS lakefed_dbx_it",
        "DROP TABLE IF EXISTS lakefed_dbx_it.people",
        "CREATE TABLE lakefed_dbx_it.people (id BIGINT, name STRING, born DATE, score DECIMAL(10, 2)) USING parquet",
        r"INSERT INTO lakefed_dbx_it.people VALUES (1, 'ada', DATE'1815-12-10', 9.50), (2, 'it\'s', NULL, NULL)",
    ] {
        collect(&client, statement, StatementMetrics::default()).await;
    }
    let ctx = lakefed::new_session_context();
    let mut options = options();
    options.catalog = Some("spark_catalog".to_string());
    ctx.register_databricks_sql("dbx", &auth(), options)
        .await
        .unwrap();
    ctx
}

/// The rows of `sql` in `ctx`, as a table.
pub(crate) async fn rows_of(ctx: &datafusion::prelude::SessionContext, sql: &str) -> String {
    let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    pretty(&batches)
}

#[tokio::test(flavor = "multi_thread")]
async fn where_the_unity_catalog_api_refuses_the_warehouse_lists_and_describes() {
    let _turn = turn().await;
    let ctx = session_with_people().await;
    let refused = json!([{"path_prefix": "/api/2.1/unity-catalog", "status": 403, "count": 1000}]);
    admin("settings", json!({ "fail_next": refused })).await;
    let schemas = rows_of(
        &ctx,
        "SELECT schema_name FROM information_schema.schemata WHERE catalog_name = 'dbx'",
    )
    .await;
    assert!(schemas.contains("lakefed_dbx_it"), "{schemas}");
    let tables = rows_of(
        &ctx,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'lakefed_dbx_it'",
    )
    .await;
    assert!(tables.contains("people"), "{tables}");
    let people = rows_of(
        &ctx,
        "SELECT id, name, born, score FROM dbx.lakefed_dbx_it.people ORDER BY id",
    )
    .await;
    assert!(
        people.contains("| 1  | ada  | 1815-12-10 | 9.50  |")
            && people.contains("| 2  | it's |            |       |"),
        "{people}"
    );
    let missing = ctx
        .sql("SELECT * FROM dbx.lakefed_dbx_it.nobody")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        missing.contains("nobody") && missing.contains("not found"),
        "{missing}"
    );
    assert!(counter(&stats().await, "faults_injected") >= 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn tables_are_listed_and_described_without_the_warehouse_and_queried_on_it() {
    let _turn = turn().await;
    let ctx = session_with_people().await;
    let before = stats().await;
    let df = ctx
        .sql("SELECT name, score FROM dbx.lakefed_dbx_it.people WHERE name = 'it''s' OR id = 1 ORDER BY id")
        .await
        .unwrap();
    let after_planning = stats().await;
    let statements = "POST /api/2.0/sql/statements";
    assert_eq!(
        requests(&after_planning, statements),
        requests(&before, statements),
        "planning ran a statement on the warehouse"
    );
    let batches = df.collect().await.unwrap();
    let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches)
        .unwrap()
        .to_string();
    assert!(
        text.contains("| ada  | 9.50  |") && text.contains("| it's |       |"),
        "{text}"
    );
    let tables = ctx
        .sql("SELECT table_name FROM information_schema.tables WHERE table_catalog = 'dbx' AND table_schema = 'lakefed_dbx_it'")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let names = datafusion::arrow::util::pretty::pretty_format_batches(&tables)
        .unwrap()
        .to_string();
    assert!(names.contains("people"), "{names}");
}

/// A row of every type (and a row of NULLs) in Spark SQL.
const EVERY_TYPE: &str = r"SELECT 7 AS i, CAST(12.5 AS DECIMAL(10, 2)) AS d, 1.0E10D AS f,
    CAST('NaN' AS DOUBLE) AS nan, CAST(-1.5 AS FLOAT) AS r, true AS b, 'it\'s' AS s,
    X'00FF' AS bin, DATE'2024-02-29' AS day, TIMESTAMP'2024-02-29 12:34:56.789123' AS ts,
    TIMESTAMP_NTZ'2024-02-29 12:34:56' AS ntz, INTERVAL '-1-6' YEAR TO MONTH AS ym,
    INTERVAL '1 02:03:04.5' DAY TO SECOND AS dt, array(1, NULL, 3) AS a,
    map('k', CAST(1.5 AS DECIMAL(5, 2))) AS m,
    named_struct('x', 1.5D, 't', TIMESTAMP'2024-01-01 00:00:00', 'n', array('a')) AS st
  UNION ALL SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    NULL, NULL, NULL, NULL";

pub(crate) fn pretty(batches: &[RecordBatch]) -> String {
    datafusion::arrow::util::pretty::pretty_format_batches(batches)
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn warehouses_that_refuse_external_links_give_the_same_results_inline() {
    let _turn = turn().await;
    let baseline = pretty(&collect(&client(), EVERY_TYPE, StatementMetrics::default()).await);
    let numbers = "SELECT id FROM range(0, 5000)";
    let statements = "POST /api/2.0/sql/statements";
    for (setting, mode) in [
        ("external_links_refused", "JSON_ARRAY"),
        ("inline_arrow_required", "ARROW_STREAM"),
    ] {
        let mut settings = json!({"external_links_refused": true, "chunk_rows": 700});
        if setting == "inline_arrow_required" {
            settings["inline_arrow_required"] = json!(true);
        }
        admin("settings", settings).await;
        let client = client();
        let inline = pretty(&collect(&client, EVERY_TYPE, StatementMetrics::default()).await);
        assert_eq!(inline, baseline, "inline {mode}");
        let before = stats().await;
        let metrics = StatementMetrics::default();
        let ids = first_column(&collect(&client, numbers, metrics.clone()).await);
        assert_eq!(ids, (0..5000).collect::<Vec<_>>(), "inline {mode}");
        assert_eq!(
            metrics.chunks.value(),
            8,
            "inline {mode}: chunks of 700 rows"
        );
        let after = stats().await;
        assert_eq!(
            requests(&after, statements) - requests(&before, statements),
            1,
            "inline {mode}: the refused disposition is not asked for again"
        );
        admin("reset", json!({})).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn json_rows_that_cannot_be_exact_are_an_error() {
    let _turn = turn().await;
    admin("settings", json!({"external_links_refused": true})).await;
    let sql = "SELECT array(X'00FF') AS a";
    let stream = client().execute(sql, StatementMetrics::default()).await;
    let err = match stream {
        Ok(stream) => stream.try_collect::<Vec<_>>().await.unwrap_err(),
        Err(err) => err,
    };
    let text = err.to_string();
    assert!(
        text.contains("column 'a'") && text.contains("EXTERNAL_LINKS"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn nested_and_interval_columns_sent_as_text_are_decoded() {
    let _turn = turn().await;
    let baseline = pretty(&collect(&client(), EVERY_TYPE, StatementMetrics::default()).await);
    // The emulator's own suite checks that these columns then arrive as text.
    admin("settings", json!({"arrow_complex_as_strings": true})).await;
    let decoded = pretty(&collect(&client(), EVERY_TYPE, StatementMetrics::default()).await);
    assert_eq!(decoded, baseline);
}
