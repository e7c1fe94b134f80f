//! The test Spark Connect server (started by `scripts/test.sh`, which sets
//! `LAKEFED_TEST_SPARK_URL`) with the fixture tables of
//! `sql-tests/spark/fixtures.sql` in namespace `lakefed_it`.

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::prelude::SessionContext;
use lakefed::SessionContextExt;
use lakefed::sources::spark_connect::ConnectionString;
use lakefed::unstable::SparkConnectClient;
use tokio::sync::OnceCell;

#[path = "../../sql-tests/spark_fixtures.rs"]
mod spark_fixtures;

/// The namespace of the fixture tables.
pub const NS: &str = "lakefed_it";

/// The server's URL; the suite fails (never skips) when it is not set.
pub fn url() -> String {
    std::env::var(spark_fixtures::URL_ENV).unwrap_or_else(|_| {
        panic!(
            "{} is not set: start a Spark Connect server with `scripts/spark-server.sh start` \
             and export the URL it prints (scripts/test.sh does both)",
            spark_fixtures::URL_ENV
        )
    })
}

/// Creates the fixture tables, once per test run.
pub async fn fixtures() {
    static CREATED: OnceCell<()> = OnceCell::const_new();
    CREATED
        .get_or_init(|| async {
            let client =
                SparkConnectClient::new(&url().parse().unwrap(), Default::default()).unwrap();
            spark_fixtures::create(&client, NS)
                .await
                .unwrap_or_else(|err| panic!("{err}"));
        })
        .await;
}

/// A session with the test server attached as catalog `spark`, in the
/// Spark session named after the DataFusion session.
pub async fn context() -> SessionContext {
    fixtures().await;
    let ctx = lakefed::new_session_context();
    ctx.register_spark_connect("spark", &spark_session_url(&ctx))
        .unwrap();
    ctx
}

/// The connection string of the Spark session behind catalog `spark` of a
/// [`context`].
fn spark_session_url(ctx: &SessionContext) -> String {
    format!("{}/;session_id={}", url(), ctx.session_id())
}

/// A client of the Spark session behind catalog `spark` of a [`context`]
/// (its temporary views and operations are the catalog's).
pub fn client(ctx: &SessionContext) -> SparkConnectClient {
    let connection = ConnectionString::parse(&spark_session_url(ctx)).unwrap();
    SparkConnectClient::new(&connection, Default::default()).unwrap()
}

/// Rows as text, one string per row, cells separated by `|`.
pub fn format_rows(batches: &[RecordBatch]) -> Vec<String> {
    let options = FormatOptions::default().with_null("NULL");
    let mut rows = Vec::new();
    for batch in batches {
        let formatters: Vec<_> = batch
            .columns()
            .iter()
            .map(|column| ArrayFormatter::try_new(column.as_ref(), &options).unwrap())
            .collect();
        for row in 0..batch.num_rows() {
            rows.push(
                formatters
                    .iter()
                    .map(|f| f.value(row).to_string())
                    .collect::<Vec<_>>()
                    .join("|"),
            );
        }
    }
    rows
}

/// Runs a query and returns its rows as text.
pub async fn query(ctx: &SessionContext, sql: &str) -> Vec<String> {
    let batches = ctx
        .sql(sql)
        .await
        .unwrap_or_else(|err| panic!("{sql}: {err}"))
        .collect()
        .await
        .unwrap_or_else(|err| panic!("{sql}: {err}"));
    format_rows(&batches)
}
