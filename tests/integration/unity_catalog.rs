//! The Unity Catalog source against the workspace emulator
//! (`scripts/workspace-emulator.sh`, started by `scripts/test.sh`): its
//! tables are Delta tables on the emulator's own S3 server
//! (`LAKEFED_TEST_UC_S3_ENDPOINT`), which only credentials the emulator
//! vends can read, and the same rows answered by its SQL warehouse (with
//! row filters and column masks applied). The emulator's request log of
//! that S3 server shows what was read from storage.

use std::time::Duration;

use datafusion::arrow::array::RecordBatch;
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use lakefed::SessionContextExt;
use lakefed::sources::delta::StorageOptions;
use lakefed::sources::unity_catalog::{Route, UnityCatalogOptions};
use lakefed::workspace::auth::AuthConfig;
use lakefed::{Error, Secret};
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use crate::databricks::{
    admin, auth, client, collect, counter, host, options, pretty, rows_of, stats, turn,
};
use crate::spark_env;

const NS: &str = "lakefed_uc_it";

fn uc_s3_endpoint() -> String {
    std::env::var("LAKEFED_TEST_UC_S3_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "LAKEFED_TEST_UC_S3_ENDPOINT is not set: the workspace emulator's S3 server \
             (scripts/test.sh sets it)"
        )
    })
}

/// The emulator's UC tables, created once per run.
async fn fixtures() {
    static CREATED: OnceCell<()> = OnceCell::const_new();
    CREATED
        .get_or_init(|| async {
            let orders = "SELECT * FROM VALUES \
                (1L, 'ada', 'EU', CAST(10.50 AS DECIMAL(10, 2)), DATE'2024-01-02'), \
                (2L, 'bob', 'US', CAST(7.25 AS DECIMAL(10, 2)), DATE'2024-01-03'), \
                (3L, 'it''s', 'EU', NULL, DATE'2024-02-01'), \
                (4L, NULL, 'APAC', CAST(99.99 AS DECIMAL(10, 2)), NULL) \
                AS t(id, customer, region, amount, placed)";
            create_table("orders", json!({ "sql": orders })).await;
            // The same rows as files, as Spark writes them (Parquet with
            // INT96 timestamps, JSON lines without NULL fields, CSV without
            // a header).
            let stamped = format!(
                "SELECT *, CAST(placed AS TIMESTAMP) + INTERVAL '3.123456' SECOND AS at FROM ({orders})"
            );
            let names = format!("SELECT customer, region, id > 2 AS late FROM ({orders})");
            for (table, sql, format) in [
                ("orders_parquet", &stamped, "PARQUET"),
                ("names_json", &names, "JSON"),
                ("orders_json", &orders.to_string(), "JSON"),
                ("orders_csv", &orders.to_string(), "CSV"),
            ] {
                let body = json!({ "sql": sql, "data_source_format": format });
                create_table(table, body).await;
            }
            let customers = "SELECT * FROM VALUES \
                ('ada', 'EU', 'ada@example.com'), ('bob', 'US', 'bob@example.com'), \
                ('it''s', 'EU', 'its@example.com') AS t(name, region, email)";
            create_table(
                "customers",
                json!({
                    "sql": customers,
                    "row_filter": {
                        "function_name": format!("spark_catalog.{NS}.eu_only"),
                        "input_column_names": ["region"],
                        "condition": "region = 'EU'",
                    },
                    "column_masks": {"email": {
                        "function_name": format!("spark_catalog.{NS}.hide_email"),
                        "using_column_names": [],
                        "expression": "'***'",
                    }},
                }),
            )
            .await;
            create_table(
                "refused",
                json!({ "sql": "SELECT 1L AS id, 'x' AS v", "vending_refused": true }),
            )
            .await;
            // One file per commit: a scan opens them one after another.
            create_table("events", json!({ "sql": events_sql(0) })).await;
            for part in 1..6 {
                let body = json!({ "sql": events_sql(part) });
                let path = format!("unity-catalog/tables/spark_catalog.{NS}.events/append");
                admin(&path, body).await;
            }
            let view = format!(
                "CREATE OR REPLACE VIEW spark_catalog.{NS}.eu_orders AS \
                 SELECT id, amount FROM spark_catalog.{NS}.orders WHERE region = 'EU'"
            );
            collect(&client(), &view, Default::default()).await;
        })
        .await;
}

fn events_sql(part: i64) -> String {
    format!(
        "SELECT id, id % 7 AS k FROM range({}, {})",
        part * 1000,
        (part + 1) * 1000
    )
}

async fn create_table(table: &str, mut body: Value) {
    let full_name = format!("spark_catalog.{NS}.{table}");
    delete_table(&full_name).await;
    body["full_name"] = json!(full_name);
    admin("unity-catalog/tables", body).await;
}

async fn delete_table(full_name: &str) {
    reqwest::Client::new()
        .delete(format!(
            "{}/emulator/unity-catalog/tables/{full_name}",
            host()
        ))
        .send()
        .await
        .expect("the emulator answers");
}

/// The emulator's log of requests to its S3 server under `prefix`.
async fn storage_log(prefix: &str) -> Vec<Value> {
    let body = reqwest::get(format!("{}/emulator/storage-log?prefix={prefix}", host()))
        .await
        .expect("the emulator answers")
        .bytes()
        .await
        .unwrap();
    let log: Value = serde_json::from_slice(&body).unwrap();
    log.get("requests")
        .unwrap_or(&log)
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn uc_options(compute: Option<&str>, route: Route) -> UnityCatalogOptions {
    let mut options = UnityCatalogOptions::default();
    options.catalog = Some("spark_catalog".to_string());
    options.compute = compute.map(str::to_string);
    options.route = route;
    options.storage.endpoint = Some(uc_s3_endpoint());
    options.storage.region = Some("us-east-1".to_string());
    options.storage.allow_http = Some(true);
    options.storage.force_path_style = Some(true);
    options.workspace.max_retries = 3;
    options
}

/// A session with the emulator's catalog as `uc` (answering governed
/// tables on the warehouse `dbx` when `compute`) and the warehouse itself.
async fn session(compute: bool, route: Route) -> SessionContext {
    fixtures().await;
    let ctx = lakefed::new_session_context();
    let mut warehouse = options();
    warehouse.catalog = Some("spark_catalog".to_string());
    ctx.register_databricks_sql("dbx", &auth(), warehouse)
        .await
        .unwrap();
    let compute = compute.then_some("dbx");
    ctx.register_unity_catalog("uc", &auth(), uc_options(compute, route))
        .await
        .unwrap();
    ctx
}

async fn error_of(ctx: &SessionContext, sql: &str) -> String {
    let outcome = match ctx.sql(sql).await {
        Ok(df) => df.collect().await.map(|_| ()),
        Err(err) => Err(err),
    };
    outcome.expect_err(sql).to_string()
}

async fn explain(ctx: &SessionContext, sql: &str) -> String {
    rows_of(ctx, &format!("EXPLAIN {sql}")).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delta_table_is_read_from_storage_with_vended_credentials() {
    let _turn = turn().await;
    let ctx = session(false, Route::Auto).await;
    let prefix = format!("spark_catalog/{NS}/orders");
    admin("storage-log/clear", json!({})).await;
    let sql = format!("SELECT * FROM uc.{NS}.orders ORDER BY id");
    let direct = rows_of(&ctx, &sql).await;
    assert!(
        direct.contains("| 3  | it's     | EU     |        | 2024-02-01 |"),
        "{direct}"
    );
    assert!(!explain(&ctx, &sql).await.contains("RemoteScanExec"));
    let reads = storage_log(&prefix).await;
    assert!(
        reads.iter().any(|r| r.to_string().contains("_delta_log")),
        "the Delta log was read from storage: {reads:?}"
    );
    // The same rows as the warehouse answers for the same table.
    let warehouse = rows_of(&ctx, &format!("SELECT * FROM dbx.{NS}.orders ORDER BY id")).await;
    assert_eq!(direct, warehouse);
}

#[tokio::test(flavor = "multi_thread")]
async fn file_tables_are_read_from_storage_as_the_warehouse_reads_them() {
    let _turn = turn().await;
    let ctx = session(true, Route::Auto).await;
    // Parquet (timestamps included), and JSON of booleans and strings.
    for (table, order) in [("orders_parquet", "id"), ("names_json", "customer")] {
        admin("storage-log/clear", json!({})).await;
        let sql = format!("SELECT * FROM uc.{NS}.{table} ORDER BY {order}");
        let direct = rows_of(&ctx, &sql).await;
        let warehouse = format!("SELECT * FROM dbx.{NS}.{table} ORDER BY {order}");
        assert_eq!(direct, rows_of(&ctx, &warehouse).await, "{table}");
        assert!(direct.contains("| it's "), "{table}: {direct}");
        assert!(
            !explain(&ctx, &sql).await.contains("RemoteScanExec"),
            "{table}"
        );
        let reads = storage_log(&format!("spark_catalog/{NS}/{table}/part-")).await;
        assert!(!reads.is_empty(), "{table} was read from storage");
    }
    let stamps = rows_of(
        &ctx,
        &format!("SELECT at FROM uc.{NS}.orders_parquet WHERE id = 1"),
    )
    .await;
    assert!(stamps.contains("2024-01-02T00:00:03.123456Z"), "{stamps}");
    // A file written since is read by the next query.
    let sql = format!("SELECT count(*) AS n FROM uc.{NS}.orders_parquet");
    assert!(rows_of(&ctx, &sql).await.contains("| 4 |"));
    let path = format!("unity-catalog/tables/spark_catalog.{NS}.orders_parquet/append");
    let row = "SELECT 5L AS id, 'eve' AS customer, 'EU' AS region, CAST(1.25 AS DECIMAL(10, 2)) \
               AS amount, DATE'2024-03-01' AS placed, TIMESTAMP'2024-03-01 00:00:00' AS at";
    admin(&path, json!({ "sql": row })).await;
    assert!(rows_of(&ctx, &sql).await.contains("| 5 |"));
    // CSV tables, and JSON numbers (arrow's readers take text Spark reads
    // as NULL), are answered by the warehouse.
    for table in ["orders_csv", "orders_json"] {
        let sql = format!("SELECT id, customer FROM uc.{NS}.{table} ORDER BY id");
        assert!(
            explain(&ctx, &sql).await.contains("source=uc via dbx"),
            "{table}"
        );
        let warehouse = format!("SELECT id, customer FROM dbx.{NS}.{table} ORDER BY id");
        assert_eq!(rows_of(&ctx, &sql).await, rows_of(&ctx, &warehouse).await);
    }
    let alone = session(false, Route::Auto).await;
    let err = error_of(&alone, &format!("SELECT * FROM uc.{NS}.orders_json")).await;
    assert!(err.contains("'id' is of type Int64 in JSON files"), "{err}");
    let err = error_of(&alone, &format!("SELECT * FROM uc.{NS}.orders_csv")).await;
    assert!(err.contains("it is a CSV table"), "{err}");
}

/// `uc_options`, with the emulator's Azure and GCS endpoints as the
/// pass-through keys of those clouds.
async fn uc_options_on_every_cloud(route: Route) -> UnityCatalogOptions {
    let body = reqwest::get(format!("{}/emulator/unity-catalog", host()))
        .await
        .expect("the emulator answers")
        .bytes()
        .await
        .unwrap();
    let info: Value = serde_json::from_slice(&body).unwrap();
    let mut options = uc_options(None, route);
    for (key, field) in [
        ("azure_storage_endpoint", "azure_endpoint"),
        ("google_base_url", "gcs_endpoint"),
    ] {
        let endpoint = info[field]
            .as_str()
            .expect("the emulator names its endpoints");
        options
            .storage
            .extra
            .insert(key.to_string(), endpoint.to_string());
    }
    options
}

#[tokio::test(flavor = "multi_thread")]
async fn tables_on_azure_and_gcs_are_read_with_the_credentials_of_their_cloud() {
    let _turn = turn().await;
    fixtures().await;
    let orders = "SELECT * FROM VALUES \
        (1L, 'ada', CAST(10.50 AS DECIMAL(10, 2)), DATE'2024-01-02'), \
        (2L, 'it''s', NULL, NULL) AS t(id, customer, amount, placed)";
    for (table, cloud, format) in [
        ("orders_azure", "azure", "DELTA"),
        ("orders_gcs", "gcs", "DELTA"),
        ("orders_gcs_parquet", "gcs", "PARQUET"),
    ] {
        let body = json!({ "sql": orders, "cloud": cloud, "data_source_format": format });
        create_table(table, body).await;
    }
    // Credentials live 3 s: the second round of reads needs new ones.
    admin("settings", json!({ "uc_credential_ttl_seconds": 3 })).await;
    let ctx = lakefed::new_session_context();
    let uc = uc_options_on_every_cloud(Route::Direct).await;
    ctx.register_unity_catalog("uc", &auth(), uc).await.unwrap();
    let mut warehouse = options();
    warehouse.catalog = Some("spark_catalog".to_string());
    ctx.register_databricks_sql("dbx", &auth(), warehouse)
        .await
        .unwrap();
    let expected = rows_of(
        &ctx,
        &format!("SELECT * FROM dbx.{NS}.orders_azure ORDER BY id"),
    )
    .await;
    assert!(
        expected.contains("| 2  | it's     |        |"),
        "{expected}"
    );
    for round in 0..2 {
        if round == 1 {
            tokio::time::sleep(Duration::from_secs(4)).await;
        }
        for table in ["orders_azure", "orders_gcs", "orders_gcs_parquet"] {
            let sql = format!("SELECT * FROM uc.{NS}.{table} ORDER BY id");
            assert_eq!(rows_of(&ctx, &sql).await, expected, "{sql}, round {round}");
            assert!(
                !explain(&ctx, &sql).await.contains("RemoteScanExec"),
                "{sql}"
            );
        }
    }
    // A write to the Azure table goes up with READ_WRITE credentials.
    let insert =
        format!("INSERT INTO uc.{NS}.orders_azure VALUES (3, 'cy', 1.25, DATE'2024-03-04')");
    rows_of(&ctx, &insert).await;
    let delta = delta_of("orders_azure").await;
    assert_eq!(delta["version"], 1, "{delta}");
    assert_eq!(delta["rows"].as_array().unwrap().len(), 3, "{delta}");
    let count = format!("SELECT count(*) AS n FROM uc.{NS}.orders_azure");
    assert!(rows_of(&ctx, &count).await.contains("| 3 |"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_query_reads_the_delta_log_once() {
    let _turn = turn().await;
    let ctx = session(false, Route::Auto).await;
    let log = format!("spark_catalog/{NS}/orders/_delta_log");
    // The first query opens the table; the second finds it in the
    // catalog's cache and reads the log again, once.
    for query in ["first", "second"] {
        admin("storage-log/clear", json!({})).await;
        rows_of(&ctx, &format!("SELECT count(*) FROM uc.{NS}.orders")).await;
        let requests = storage_log(&log).await;
        let listings = requests
            .iter()
            .filter(|request| request["list_prefix"].is_string())
            .count();
        assert_eq!(
            listings, 1,
            "the {query} query listed the log: {requests:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn direct_and_compute_routes_give_the_same_answers() {
    let _turn = turn().await;
    let direct = session(false, Route::Direct).await;
    let compute = session(true, Route::Compute).await;
    for sql in [
        format!(
            "SELECT region, count(*), sum(amount) FROM uc.{NS}.orders GROUP BY region ORDER BY region"
        ),
        format!("SELECT id FROM uc.{NS}.orders WHERE amount > 8 OR customer IS NULL ORDER BY id"),
        format!(
            "SELECT customer, placed FROM uc.{NS}.orders WHERE placed >= DATE'2024-01-03' ORDER BY 1"
        ),
        format!("SELECT k, count(*) FROM uc.{NS}.events WHERE id % 3 = 0 GROUP BY k ORDER BY k"),
    ] {
        assert_eq!(
            rows_of(&direct, &sql).await,
            rows_of(&compute, &sql).await,
            "{sql}"
        );
    }
    assert!(
        explain(&compute, &format!("SELECT * FROM uc.{NS}.orders"))
            .await
            .contains("source=uc via dbx")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_governed_table_is_answered_by_compute_and_never_read_from_storage() {
    let _turn = turn().await;
    let ctx = session(true, Route::Auto).await;
    admin("storage-log/clear", json!({})).await;
    let vended = counter(&stats().await, "credentials_vended");
    let sql = format!("SELECT name, region, email FROM uc.{NS}.customers ORDER BY name");
    let rows = rows_of(&ctx, &sql).await;
    assert_eq!(
        counter(&stats().await, "credentials_vended"),
        vended,
        "no credentials are asked for a governed table"
    );
    assert!(rows.contains("| ada  | EU     | ***   |"), "{rows}");
    assert!(
        !rows.contains("bob") && !rows.contains("@example.com"),
        "{rows}"
    );
    assert!(explain(&ctx, &sql).await.contains("source=uc via dbx"));
    let reads = storage_log(&format!("spark_catalog/{NS}/customers")).await;
    assert!(
        reads.is_empty(),
        "the governed table was read from storage: {reads:?}"
    );
    // The log does record reads: a plain table's, in the same session.
    rows_of(&ctx, &format!("SELECT count(*) FROM uc.{NS}.orders")).await;
    assert!(
        !storage_log(&format!("spark_catalog/{NS}/orders"))
            .await
            .is_empty()
    );
    // With the warehouse's own table, one statement answers the join.
    let join = format!(
        "SELECT c.name, o.id FROM uc.{NS}.customers c JOIN dbx.{NS}.orders o ON o.customer = c.name ORDER BY o.id"
    );
    let plan = explain(&ctx, &join).await;
    assert_eq!(plan.matches("RemoteScanExec").count(), 1, "{plan}");
    assert!(rows_of(&ctx, &join).await.contains("| it's | 3  |"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_governed_table_without_a_compute_source_is_a_clear_error() {
    let _turn = turn().await;
    let ctx = session(false, Route::Auto).await;
    let err = error_of(&ctx, &format!("SELECT * FROM uc.{NS}.customers")).await;
    assert!(err.contains("it has a row filter"), "{err}");
    assert!(err.contains("compute = "), "{err}");
    let view = error_of(&ctx, &format!("SELECT * FROM uc.{NS}.eu_orders")).await;
    assert!(view.contains("it is a VIEW"), "{view}");
}

#[tokio::test(flavor = "multi_thread")]
async fn route_direct_never_reads_a_governed_table() {
    let _turn = turn().await;
    let ctx = session(true, Route::Direct).await;
    let err = error_of(&ctx, &format!("SELECT * FROM uc.{NS}.customers")).await;
    assert!(
        err.contains("cannot be read from storage: it has a row filter"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_vending_is_answered_by_compute() {
    let _turn = turn().await;
    let ctx = session(true, Route::Auto).await;
    admin("storage-log/clear", json!({})).await;
    let sql = format!("SELECT * FROM uc.{NS}.refused");
    assert!(rows_of(&ctx, &sql).await.contains("| 1  | x |"));
    assert!(explain(&ctx, &sql).await.contains("source=uc via dbx"));
    assert!(
        storage_log(&format!("spark_catalog/{NS}/refused"))
            .await
            .is_empty()
    );
    let direct = session(true, Route::Direct).await;
    let err = error_of(&direct, &sql).await;
    assert!(
        err.contains("did not vend its credentials (PERMISSION_DENIED)"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_view_is_answered_by_compute() {
    let _turn = turn().await;
    let ctx = session(true, Route::Auto).await;
    let sql = format!("SELECT * FROM uc.{NS}.eu_orders ORDER BY id");
    let rows = rows_of(&ctx, &sql).await;
    let expected = "+----+--------+\n\
                    | id | amount |\n\
                    +----+--------+\n\
                    | 1  | 10.50  |\n\
                    | 3  |        |\n\
                    +----+--------+";
    assert_eq!(rows, expected);
    assert!(explain(&ctx, &sql).await.contains("source=uc via dbx"));
}

/// Credentials living 5 seconds, a scan of six files taking 9.6 seconds:
/// the emulator refuses the first credentials while the scan runs.
#[tokio::test(flavor = "multi_thread")]
async fn a_scan_outliving_its_credentials_goes_on_with_fresh_ones() {
    let _turn = turn().await;
    admin("settings", json!({ "uc_credential_ttl_seconds": 5 })).await;
    let ctx = session(false, Route::Direct).await;
    for setting in ["target_partitions = 1", "batch_size = 500"] {
        let sql = format!("SET datafusion.execution.{setting}");
        ctx.sql(&sql).await.unwrap();
    }
    let before = counter(&stats().await, "credentials_vended");
    let sql = format!("SELECT id FROM uc.{NS}.events");
    let mut stream = ctx.sql(&sql).await.unwrap().execute_stream().await.unwrap();
    let mut rows = 0;
    while let Some(batch) = stream.next().await {
        let batch: RecordBatch = batch.unwrap_or_else(|err| panic!("{sql}: {err}"));
        rows += batch.num_rows();
        tokio::time::sleep(Duration::from_millis(800)).await;
    }
    assert_eq!(rows, 6000);
    let vended = counter(&stats().await, "credentials_vended") - before;
    assert!(vended >= 2, "credentials were vended {vended} time(s)");
}

#[tokio::test(flavor = "multi_thread")]
async fn hundreds_of_tables_are_listed_page_by_page() {
    let _turn = turn().await;
    let spark = client();
    let many = "lakefed_uc_many";
    collect(
        &spark,
        &format!("CREATE NAMESPACE IF NOT EXISTS {many}"),
        Default::default(),
    )
    .await;
    let existing = rows_of(&session(false, Route::Auto).await, &format!(
        "SELECT count(*) AS n FROM information_schema.tables WHERE table_catalog = 'uc' AND table_schema = '{many}'"
    ))
    .await;
    if !existing.contains("| 260 |") {
        for i in 0..260 {
            let view = format!("CREATE OR REPLACE VIEW {many}.v{i:03} AS SELECT {i} AS i");
            collect(&spark, &view, Default::default()).await;
        }
    }
    admin("settings", json!({ "uc_page_size": 50 })).await;
    let before = stats().await;
    let ctx = session(true, Route::Auto).await;
    let listed = rows_of(
        &ctx,
        &format!(
            "SELECT count(*) AS n, min(table_name) AS lo, max(table_name) AS hi FROM information_schema.tables \
         WHERE table_catalog = 'uc' AND table_schema = '{many}'"
        ),
    )
    .await;
    assert!(listed.contains("| 260 | v000 | v259 |"), "{listed}");
    let route = "GET /api/2.1/unity-catalog/tables";
    let pages = crate::databricks::requests(&stats().await, route)
        - crate::databricks::requests(&before, route);
    assert!(pages >= 6, "{pages} pages");
    // A query resolves only the table it names.
    let ctx = session(true, Route::Auto).await;
    let before = stats().await;
    assert!(
        rows_of(&ctx, &format!("SELECT i FROM uc.{many}.v123"))
            .await
            .contains("123")
    );
    let after = stats().await;
    assert_eq!(
        crate::databricks::requests(&after, route),
        crate::databricks::requests(&before, route),
        "no listing for a query"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_token_is_a_clear_error() {
    let _turn = turn().await;
    fixtures().await;
    let ctx = lakefed::new_session_context();
    let wrong = AuthConfig::with_token(host(), "dapi-wrong-token");
    ctx.register_unity_catalog("uc", &wrong, uc_options(None, Route::Auto))
        .await
        .unwrap();
    let err = error_of(&ctx, &format!("SELECT * FROM uc.{NS}.orders")).await;
    assert!(
        err.contains("401") && err.contains("check the credentials"),
        "{err}"
    );
    assert!(!err.contains("dapi-wrong-token"), "{err}");
    // Without a catalog, registration lists the catalogs and fails at once.
    let mut every = uc_options(None, Route::Auto);
    every.catalog = None;
    let err = ctx
        .register_unity_catalog("all", &wrong, every)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Remote { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn unreachable_storage_is_a_clear_error() {
    let _turn = turn().await;
    fixtures().await;
    let ctx = lakefed::new_session_context();
    let mut options = uc_options(None, Route::Auto);
    options.storage.endpoint = Some("http://127.0.0.1:9".to_string());
    ctx.register_unity_catalog("uc", &auth(), options)
        .await
        .unwrap();
    let err = error_of(&ctx, &format!("SELECT * FROM uc.{NS}.orders")).await;
    assert!(
        err.contains(&format!(
            "cannot read Delta table 's3://lakefed-uc/spark_catalog/{NS}/orders'"
        )) && err.contains("http://127.0.0.1:9/"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_catalog_is_attached_under_its_own_name() {
    let _turn = turn().await;
    fixtures().await;
    let ctx = lakefed::new_session_context();
    let mut options = uc_options(None, Route::Auto);
    options.catalog = None;
    ctx.register_unity_catalog("uc", &auth(), options)
        .await
        .unwrap();
    let rows = rows_of(
        &ctx,
        &format!("SELECT count(*) AS n FROM spark_catalog.{NS}.orders"),
    )
    .await;
    assert!(rows.contains("| 4 |"), "{rows}");
}

/// A UC Delta table (storage), a governed UC table (warehouse), a Spark
/// Connect table and a local Delta table, in one query.
#[tokio::test(flavor = "multi_thread")]
async fn four_kinds_of_source_join_in_one_query() {
    let _turn = turn().await;
    let ctx = session(true, Route::Auto).await;
    ctx.register_spark_connect("spark", &spark_env::url())
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    ctx.register_delta_schema(
        "lake",
        &dir.path().to_string_lossy(),
        StorageOptions::default(),
    )
    .unwrap();
    ctx.sql("CREATE TABLE lake.regions AS SELECT * FROM (VALUES ('EU', 'Europe'), ('US', 'Americas')) AS t(region, continent)")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let sql = format!(
        "SELECT o.id, c.email, r.continent, s.total \
         FROM uc.{NS}.orders o \
         JOIN uc.{NS}.customers c ON c.name = o.customer \
         JOIN lake.regions r ON r.region = o.region \
         JOIN (SELECT id AS total FROM spark.{NS}.orders) s ON s.total = o.id \
         ORDER BY o.id"
    );
    let rows = rows_of(&ctx, &sql).await;
    assert_eq!(
        rows,
        pretty(
            &ctx.sql("SELECT * FROM (VALUES (1, '***', 'Europe', 1), (3, '***', 'Europe', 3)) AS t(id, email, continent, total)")
                .await
                .unwrap()
                .collect()
                .await
                .unwrap()
        ),
        "{rows}"
    );
}

/// A server that serves temporary credentials only on one of the two paths
/// (Unity Catalog OSS: 2.1, Databricks: 2.0) is found on either.
#[tokio::test(flavor = "multi_thread")]
async fn credentials_are_found_on_either_path() {
    let _turn = turn().await;
    for paths in ["oss", "databricks"] {
        admin("settings", json!({ "uc_credential_paths": paths })).await;
        let ctx = session(false, Route::Direct).await;
        let rows = rows_of(&ctx, &format!("SELECT count(*) AS n FROM uc.{NS}.orders")).await;
        assert!(rows.contains("| 4 |"), "{paths}: {rows}");
    }
}

/// The emulator's Delta table `table` as the deltalake package reads it
/// from storage: `{"version", "rows"}`.
async fn delta_of(table: &str) -> Value {
    let url = format!(
        "{}/emulator/unity-catalog/tables/spark_catalog.{NS}.{table}/delta",
        host()
    );
    let response = reqwest::get(url).await.expect("the emulator answers");
    let body = response.bytes().await.unwrap();
    serde_json::from_slice(&body).unwrap()
}

/// The `id`s of Delta rows as `delta_of` gives them, sorted, with their `note`.
fn notes_by_id(delta: &Value) -> Vec<(i64, String)> {
    let mut rows: Vec<(i64, String)> = delta["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let note = row["note"].as_str().unwrap_or_default().to_string();
            (row["id"].as_i64().unwrap(), note)
        })
        .collect();
    rows.sort();
    rows
}

#[tokio::test(flavor = "multi_thread")]
async fn an_insert_appends_to_an_external_table_with_write_credentials() {
    let _turn = turn().await;
    let rows = "SELECT * FROM VALUES (1L, 'opened') AS t(id, note)";
    create_table("ledger", json!({ "sql": rows, "table_type": "EXTERNAL" })).await;
    let ctx = session(false, Route::Direct).await;
    // Read first: the table's store holds READ credentials until the write.
    let read = rows_of(&ctx, &format!("SELECT count(*) AS n FROM uc.{NS}.ledger")).await;
    assert!(read.contains("| 1 |"), "{read}");
    admin("storage-log/clear", json!({})).await;
    let insert = format!("INSERT INTO uc.{NS}.ledger VALUES (2, 'posted'), (3, 'it''s')");
    let inserted = rows_of(&ctx, &insert).await;
    assert!(inserted.contains("| 2     |"), "{inserted}");
    // A READ key cannot put objects: the commit went up with READ_WRITE ones.
    let puts = storage_log(&format!("spark_catalog/{NS}/ledger/_delta_log/"))
        .await
        .into_iter()
        .filter(|request| request["method"] == "PUT" && request["status"] == 200)
        .count();
    assert_eq!(puts, 1, "one commit written");
    // Another Delta reader finds the rows in storage, at the next version.
    let delta = delta_of("ledger").await;
    assert_eq!(delta["version"], 1, "{delta}");
    let expected = [(1, "opened"), (2, "posted"), (3, "it's")].map(|(id, n)| (id, n.to_string()));
    assert_eq!(notes_by_id(&delta), expected);
    // And the next query reads them too.
    let read = rows_of(&ctx, &format!("SELECT count(*) AS n FROM uc.{NS}.ledger")).await;
    assert!(read.contains("| 3 |"), "{read}");
    // In a new session, a write first and a read right after it.
    let ctx = session(false, Route::Direct).await;
    let insert = format!("INSERT INTO uc.{NS}.ledger VALUES (4, 'closed')");
    rows_of(&ctx, &insert).await;
    let read = rows_of(&ctx, &format!("SELECT count(*) AS n FROM uc.{NS}.ledger")).await;
    assert!(read.contains("| 4 |"), "{read}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_catalog_decides_which_tables_take_writes() {
    let _turn = turn().await;
    let rows = "SELECT * FROM VALUES (1L, 'opened') AS t(id, note)";
    create_table(
        "ledger_managed",
        json!({ "sql": rows, "table_type": "MANAGED" }),
    )
    .await;
    let ctx = session(false, Route::Direct).await;
    let insert = format!("INSERT INTO uc.{NS}.ledger_managed VALUES (2, 'posted')");
    let err = error_of(&ctx, &insert).await;
    assert!(
        err.contains("READ_WRITE") || err.contains("cannot be written from outside"),
        "{err}"
    );
    assert!(
        err.contains(&format!("spark_catalog.{NS}.ledger_managed")),
        "{err}"
    );
    let delta = delta_of("ledger_managed").await;
    assert_eq!(delta["version"], 0, "nothing written: {delta}");
    assert_eq!(notes_by_id(&delta), [(1, "opened".to_string())]);
}

#[tokio::test(flavor = "multi_thread")]
async fn storage_keys_and_catalog_clashes_are_refused() {
    let _turn = turn().await;
    let ctx = lakefed::new_session_context();
    let mut keyed = uc_options(None, Route::Auto);
    keyed.storage.access_key_id = Some(Secret::new("AKIA"));
    let err = ctx
        .register_unity_catalog("uc", &auth(), keyed)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("remove the storage keys"), "{err}");
    ctx.register_spark_connect("spark_catalog", &spark_env::url())
        .unwrap();
    let mut every = uc_options(None, Route::Auto);
    every.catalog = None;
    let err = ctx
        .register_unity_catalog("uc", &auth(), every)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("would replace"), "{err}");
}

/// As the CLI attaches it: from `lakefed.toml`, in a session with URL
/// tables on (which wraps every catalog DataFusion hands out).
#[tokio::test(flavor = "multi_thread")]
async fn a_config_file_attaches_the_catalog_and_its_compute() {
    let _turn = turn().await;
    fixtures().await;
    let toml = format!(
        "[sources.uc]\nkind = \"unity_catalog\"\nurl = \"{host}\"\ncatalog = \"spark_catalog\"\n\
         compute = \"dbx\"\ntoken_env = \"LAKEFED_TEST_WORKSPACE_TOKEN\"\n\
         [sources.uc.storage]\nendpoint = \"{s3}\"\nallow_http = true\nforce_path_style = true\n\
         [sources.dbx]\nkind = \"databricks_sql\"\nhost = \"{host}\"\nwarehouse_id = \"{warehouse}\"\n\
         catalog = \"spark_catalog\"\ntoken_env = \"LAKEFED_TEST_WORKSPACE_TOKEN\"\n",
        host = host(),
        s3 = uc_s3_endpoint(),
        warehouse = options().warehouse_id,
    );
    let config = lakefed::Config::from_toml(&toml, std::path::Path::new("lakefed.toml")).unwrap();
    let ctx = lakefed::new_session_context().enable_url_table();
    ctx.register_config(&config).await.unwrap();
    let governed = format!("SELECT count(*) AS n FROM uc.{NS}.customers WHERE email = '***'");
    assert!(rows_of(&ctx, &governed).await.contains("| 2 |"));
    let direct = format!("SELECT count(*) AS n FROM uc.{NS}.orders");
    assert!(rows_of(&ctx, &direct).await.contains("| 4 |"));
}
