//! The Spark Connect source against a real local Spark 4.3 server: large
//! streams in bounded memory, cancellation, errors, EXPLAIN ANALYZE.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use lakefed::Error;
use lakefed::SessionContextExt;
use lakefed::sources::spark_connect::{
    ClientOptions, ConnectionString, SparkConnectOptions, Transport,
};
use lakefed::unstable::SparkConnectClient;

use crate::spark_env::{self, NS, client, context, query};

/// Peak resident memory of a process so far, from /proc (kB).
fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_million_rows_stream_through_in_bounded_memory() {
    spark_env::fixtures().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("lakefed.toml"),
        format!(
            "[sources.spark]\nkind = \"spark_connect\"\nurl = \"{}\"\n",
            spark_env::url()
        ),
    )
    .unwrap();
    // The ids alone are 400 MB; the CLI must never hold the whole result.
    // `%` is never sent to Spark, so the aggregate stays local and every id
    // crosses the wire (federated, Spark would send one row).
    let mut child = Command::new(env!("CARGO_BIN_EXE_lakefed"))
        .current_dir(dir.path())
        .args(["sql", "--format", "csv"])
        .arg(format!(
            "SELECT count(*) AS n, sum(id) AS total FROM spark.{NS}.big WHERE id % 2 >= 0"
        ))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut peak_kb = 0;
    while child.try_wait().unwrap().is_none() {
        if let Some(kb) = peak_rss_kb(pid) {
            peak_kb = peak_kb.max(kb);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(stdout, "n,total\n50000000,1249999975000000\n", "{stderr}");
    let bound_kb = 300 * 1024;
    assert!(peak_kb > 0, "no memory reading of the CLI");
    eprintln!("peak RSS of the CLI: {peak_kb} kB");
    assert!(
        peak_kb < bound_kb,
        "peak RSS {peak_kb} kB over {bound_kb} kB"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn dropping_a_query_interrupts_the_spark_operation() {
    let ctx = context().await;
    // One partition: the scan's stream is dropped with the aborted task
    // itself, not later with DataFusion's helper tasks, so the interrupt is
    // on its way when the task's handle resolves.
    ctx.state_ref()
        .write()
        .config_mut()
        .options_mut()
        .execution
        .target_partitions = 1;
    let spark = client(&ctx);
    let df = ctx
        .sql(&format!("SELECT count(*) FROM spark.{NS}.endless"))
        .await
        .unwrap();
    let running = tokio::spawn(async move { df.collect().await });
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        !running.is_finished(),
        "the endless query ended: {:?}",
        running.await
    );
    running.abort();
    assert!(running.await.unwrap_err().is_cancelled());
    let background = ctx.background_work().unwrap();
    tokio::time::timeout(Duration::from_secs(10), background.finished())
        .await
        .expect("the interrupt is sent within its request timeout");
    // Had the operation not been interrupted, this would interrupt it now
    // and return its id.
    let still_running = spark.interrupt_all().await.unwrap();
    assert_eq!(still_running, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn spark_errors_keep_their_class_and_state() {
    let ctx = context().await;
    let spark = client(&ctx);
    let err = spark.collect("SELEC 1").await.unwrap_err();
    let Error::Remote {
        error_class,
        sql_state,
        message,
        endpoint,
    } = &err
    else {
        panic!("not a remote error: {err:?}")
    };
    assert_eq!(
        error_class.as_deref(),
        Some("PARSE_SYNTAX_ERROR"),
        "{message}"
    );
    assert_eq!(sql_state.as_deref(), Some("42601"));
    assert!(message.contains("'SELEC'"), "{message}");
    assert!(endpoint.contains("sc://127.0.0.1"), "{endpoint}");

    let err = spark
        .collect(&format!("SELECT * FROM {NS}.missing"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Remote { error_class: Some(c), .. } if c == "TABLE_OR_VIEW_NOT_FOUND"),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_is_not_running_is_a_clear_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let ctx = lakefed::new_session_context();
    let connection: ConnectionString = format!("sc://127.0.0.1:{port}").parse().unwrap();
    let mut options = SparkConnectOptions::default();
    options.client.max_retries = 2;
    ctx.register_spark_connect_with("down", &connection, options)
        .unwrap();
    let result = tokio::time::timeout(
        Duration::from_secs(60),
        ctx.sql("SELECT * FROM down.default.t"),
    )
    .await
    .expect("no hang");
    let err = result.unwrap_err().to_string();
    assert!(
        err.contains(&format!(
            "cannot reach Spark Connect server sc://127.0.0.1:{port}"
        )) && err.contains("refused"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn explain_analyze_shows_what_each_remote_scan_received() {
    let ctx = context().await;
    let sql = format!("EXPLAIN ANALYZE SELECT count(*) FROM spark.{NS}.wide WHERE id < 500");
    // Federated, Spark counts; with scan-level pushdown only, the rows come.
    let federated = [
        "sql=SELECT count(1L) AS _c0 FROM (SELECT TRUE AS _empty FROM `lakefed_it`.`wide` WHERE (`id` < 500L)) AS t",
        "output_rows=1,",
    ];
    let scan_only = [
        "sql=SELECT TRUE FROM `lakefed_it`.`wide` WHERE (`id` < 500L)",
        "output_rows=500,",
    ];
    for (setting, expected_sql_and_rows) in [("true", federated), ("false", scan_only)] {
        query(&ctx, &format!("SET lakefed.federation = {setting}")).await;
        let plan = query(&ctx, &sql).await.join("\n");
        let scan = plan
            .lines()
            .find(|line| line.contains("RemoteScanExec"))
            .unwrap_or_else(|| panic!("{plan}"));
        let metrics = [
            "bytes_received=",
            "batches_received=",
            "time_to_first_batch=",
            "wait_time=",
            "decode_time=",
        ];
        for expected in expected_sql_and_rows.iter().chain(&metrics) {
            assert!(scan.contains(expected), "{expected} missing in {scan}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn namespaces_and_tables_are_listed() {
    let ctx = context().await;
    let rows = query(
        &ctx,
        &format!(
            "SELECT table_name FROM information_schema.tables \
             WHERE table_catalog = 'spark' AND table_schema = '{NS}' ORDER BY table_name"
        ),
    )
    .await;
    assert_eq!(
        rows,
        [
            "big",
            "buckets",
            "endless",
            "items",
            "odd_name",
            "text_types",
            "types",
            "wide"
        ]
    );
    let rows = query(
        &ctx,
        "SELECT schema_name FROM information_schema.schemata WHERE catalog_name = 'spark'",
    )
    .await;
    assert!(
        rows.contains(&NS.to_string()) && rows.contains(&"default".to_string()),
        "{rows:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_requires_a_token_gets_it_and_errors_never_show_it() {
    let url = std::env::var("LAKEFED_TEST_SPARK_AUTH_URL").expect(
        "LAKEFED_TEST_SPARK_AUTH_URL is not set: scripts/test.sh starts a Spark server \
         that requires a token and sets it",
    );
    let token = std::env::var("LAKEFED_TEST_SPARK_TOKEN").expect("LAKEFED_TEST_SPARK_TOKEN");
    let with_token: ConnectionString = format!("{url}/;token={token}").parse().unwrap();
    // Spark's rule: a token to `localhost` travels over a local plaintext channel.
    assert_eq!(with_token.transport(), Transport::LocalWithToken);
    let client = SparkConnectClient::new(&with_token, ClientOptions::default()).unwrap();
    let batches = client.collect("SELECT 1 AS one").await.unwrap();
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 1);

    for (connection, shown) in [
        (url.clone(), "no token"),
        (format!("{url}/;token=wrong-secret"), "wrong token"),
    ] {
        let client =
            SparkConnectClient::new(&connection.parse().unwrap(), ClientOptions::default())
                .unwrap();
        let err = client.collect("SELECT 1").await.unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, Error::Remote { .. }), "{shown}: {err:?}");
        assert!(
            !text.contains("wrong-secret"),
            "{shown}: the token leaked: {text}"
        );
        assert!(!format!("{client:?}").contains("wrong-secret"));
        eprintln!("{shown}: {text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_in_the_cli_interrupts_the_spark_operation() {
    spark_env::fixtures().await;
    // The CLI joins a session the test can see into.
    let session_id = uuid::Uuid::new_v4().to_string();
    let url = format!("{}/;session_id={session_id}", spark_env::url());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("lakefed.toml"),
        format!("[sources.spark]\nkind = \"spark_connect\"\nurl = \"{url}\"\n"),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_lakefed"))
        .current_dir(dir.path())
        .args(["sql", &format!("SELECT count(*) FROM spark.{NS}.endless")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(
        child.try_wait().unwrap().is_none(),
        "the endless query ended"
    );
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(output.status.code(), Some(130));
    assert!(String::from_utf8_lossy(&output.stderr).contains("query cancelled"));
    let observer =
        SparkConnectClient::new(&url.parse().unwrap(), ClientOptions::default()).unwrap();
    assert_eq!(
        observer.interrupt_all().await.unwrap(),
        Vec::<String>::new()
    );
}
