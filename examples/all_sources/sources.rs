//! Every kind of source lakefed has, registered from code.

use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::prelude::SessionContext;
use lakefed::SessionContextExt;
use lakefed::sources::databricks_sql::DatabricksSqlOptions;
use lakefed::sources::delta::{SaveMode, StorageOptions, write_batches};
use lakefed::sources::spark_connect::{ConnectionString, SparkConnectOptions};
use lakefed::sources::unity_catalog::UnityCatalogOptions;
use lakefed::workspace::auth::AuthConfig;

/// Where the remote sources are.
pub struct Endpoints {
    /// A Spark Connect server (`sc://host:port`).
    pub spark_url: String,
    /// A Databricks workspace: its URL, a personal access token, and the id
    /// of its SQL warehouse.
    pub workspace_url: String,
    /// The token for `workspace_url`.
    pub token: String,
    /// The warehouse queries on Databricks SQL (and on governed Unity
    /// Catalog tables) run on.
    pub warehouse_id: String,
    /// The Unity Catalog catalog to attach.
    pub uc_catalog: String,
    /// The S3 endpoint of the Unity Catalog's tables, when it is not AWS's
    /// (vended credentials name no endpoint).
    pub uc_storage_endpoint: Option<String>,
}

/// Registers in `ctx`:
/// - `orders`: a Delta table, written under `dir` first;
/// - `lake`: every Delta table under `dir`, as a schema;
/// - `spark`: the Spark Connect server;
/// - `dbx`: the warehouse's current catalog, through Databricks SQL;
/// - `uc`: a Unity Catalog catalog, Delta tables read from storage and the
///   rest answered by `dbx`.
pub async fn register_all(
    ctx: &SessionContext,
    dir: &Path,
    endpoints: &Endpoints,
) -> lakefed::Result<()> {
    let orders = dir.join("orders").to_string_lossy().into_owned();
    write_batches(
        &orders,
        &StorageOptions::default(),
        vec![sample_orders()],
        &[],
        SaveMode::Overwrite,
    )
    .await?;
    ctx.register_delta("orders", &orders).await?;
    ctx.register_delta_schema("lake", &dir.to_string_lossy(), StorageOptions::default())?;

    let mut spark = SparkConnectOptions::default();
    spark.client.max_retries = 3;
    let connection = ConnectionString::parse(&endpoints.spark_url)?;
    ctx.register_spark_connect_with("spark", &connection, spark)?;

    let auth = AuthConfig::with_token(endpoints.workspace_url.clone(), &endpoints.token);
    let warehouse = DatabricksSqlOptions::new(&endpoints.warehouse_id);
    ctx.register_databricks_sql("dbx", &auth, warehouse).await?;

    let mut unity = UnityCatalogOptions::default();
    unity.catalog = Some(endpoints.uc_catalog.clone());
    unity.compute = Some("dbx".to_string());
    if let Some(endpoint) = &endpoints.uc_storage_endpoint {
        unity.storage.endpoint = Some(endpoint.clone());
        unity.storage.allow_http = Some(endpoint.starts_with("http://"));
        unity.storage.force_path_style = Some(true);
        unity.storage.region = Some("us-east-1".to_string());
    }
    ctx.register_unity_catalog("uc", &auth, unity).await?;
    Ok(())
}

fn sample_orders() -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("order_id", DataType::Int64, false),
        Field::new("country", DataType::Utf8, false),
    ]));
    let ids = Int64Array::from(vec![1, 2, 3]);
    let countries = StringArray::from(vec!["DE", "FR", "DE"]);
    RecordBatch::try_new(schema, vec![Arc::new(ids), Arc::new(countries)])
        .expect("columns match the schema")
}
