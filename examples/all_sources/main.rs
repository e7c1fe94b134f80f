//! Registers every kind of source from code, without a config file, and
//! queries them in one session: the schemas of each catalog, and the Delta
//! table joined with a Spark query.
//!
//! ```text
//! export LAKEFED_SPARK_URL=sc://127.0.0.1:15002
//! export DATABRICKS_HOST=https://<workspace> DATABRICKS_TOKEN=<token>
//! export DATABRICKS_WAREHOUSE_ID=<id> LAKEFED_UC_CATALOG=<catalog>
//! cargo run --example all_sources
//! ```
//!
//! Against the local workspace emulator (`scripts/workspace-emulator.sh`),
//! also set `LAKEFED_UC_STORAGE_ENDPOINT` to its S3 server.

mod sources;

use datafusion::arrow::util::pretty::pretty_format_batches;
use lakefed::SessionContextExt;

use sources::Endpoints;

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("set {name} (see the example's docs)"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let endpoints = Endpoints {
        spark_url: env("LAKEFED_SPARK_URL")?,
        workspace_url: env("DATABRICKS_HOST")?,
        token: env("DATABRICKS_TOKEN")?,
        warehouse_id: env("DATABRICKS_WAREHOUSE_ID")?,
        uc_catalog: env("LAKEFED_UC_CATALOG")?,
        uc_storage_endpoint: std::env::var("LAKEFED_UC_STORAGE_ENDPOINT").ok(),
    };
    let dir = std::env::temp_dir().join("lakefed-all-sources");
    let ctx = lakefed::new_session_context();
    sources::register_all(&ctx, &dir, &endpoints).await?;
    // A Spark table to join with; lakefed's SQL reads sources, it does not
    // change Spark's catalog, so the example creates it with lakefed's
    // (unstable) Spark Connect client.
    let connection = endpoints.spark_url.parse()?;
    let spark = lakefed::unstable::SparkConnectClient::new(&connection, Default::default())?;
    spark
        .collect(
            "CREATE TABLE IF NOT EXISTS default.lakefed_example_ids AS SELECT id FROM range(10)",
        )
        .await?;

    for sql in [
        "SELECT catalog_name, count(*) AS schemas FROM information_schema.schemata \
         GROUP BY catalog_name ORDER BY catalog_name",
        "SELECT o.country, count(*) AS orders, max(s.id) AS spark_id \
         FROM orders o JOIN spark.default.lakefed_example_ids s ON s.id = o.order_id \
         GROUP BY o.country ORDER BY o.country",
    ] {
        let batches = ctx.sql(sql).await?.collect().await?;
        println!("{sql}\n{}", pretty_format_batches(&batches)?);
    }
    ctx.shutdown().await;
    Ok(())
}
