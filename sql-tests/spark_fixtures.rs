//! Fixture tables in the test Spark Connect server (`spark/fixtures.sql`),
//! shared by the sqllogictest runner and the integration tests.

use lakefed::unstable::SparkConnectClient;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The environment variable holding the test server's `sc://` URL.
pub const URL_ENV: &str = "LAKEFED_TEST_SPARK_URL";

const FIXTURES: &str = include_str!("spark/fixtures.sql");

/// (Re)creates the fixture tables in `namespace`.
pub async fn create(client: &SparkConnectClient, namespace: &str) -> Result<(), BoxError> {
    let wide_columns = (1..=200)
        .map(|i| format!("id + {i} AS c{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let script = FIXTURES
        .replace("${NS}", namespace)
        .replace("${WIDE_COLUMNS}", &wide_columns);
    for statement in script.split(";\n") {
        let statement: String = statement
            .lines()
            .filter(|line| !line.trim_start().starts_with("--"))
            .collect::<Vec<_>>()
            .join("\n");
        if !statement.trim().is_empty() {
            client
                .collect(&statement)
                .await
                .map_err(|err| format!("fixture statement failed: {err}\n{statement}"))?;
        }
    }
    Ok(())
}
