//! Fixture tables of the Unity Catalog suites (`unity_catalog/fixtures.json`):
//! each entry is a table the workspace emulator creates through its admin
//! API (`POST /emulator/unity-catalog/tables`): Delta on its S3 server, the
//! same rows on its warehouse.

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The environment variable holding the emulator's S3 endpoint.
pub const S3_ENV: &str = "LAKEFED_TEST_UC_S3_ENDPOINT";

const FIXTURES: &str = include_str!("unity_catalog/fixtures.json");

/// Resets the emulator at `host` to its default settings (earlier tests
/// may have left faults pending) and (re)creates the fixture tables.
pub async fn create(host: &str) -> Result<(), BoxError> {
    let http = reqwest::Client::new();
    http.post(format!("{host}/emulator/reset"))
        .send()
        .await?
        .error_for_status()?;
    let tables: Vec<serde_json::Value> = serde_json::from_str(FIXTURES)?;
    for table in tables {
        let full_name = table["full_name"]
            .as_str()
            .ok_or("a fixture without full_name")?;
        let tables_url = format!("{host}/emulator/unity-catalog/tables");
        // Absent on a fresh emulator: 404 is expected.
        http.delete(format!("{tables_url}/{full_name}"))
            .send()
            .await?;
        let response = http
            .post(&tables_url)
            .header("content-type", "application/json")
            .body(table.to_string())
            .send()
            .await?;
        if !response.status().is_success() {
            let status = response.status();
            let body = response.text().await?;
            return Err(format!("fixture {full_name}: {status}: {body}").into());
        }
    }
    Ok(())
}
