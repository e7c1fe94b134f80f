//! `lakefed demo`: the main job on an embedded default. It writes a sample
//! Delta table of orders (partitioned by status, in several commits) and a
//! customers table, in a Spark Connect server when one is given (else in
//! Delta too), runs a query that joins and aggregates them, and shows what
//! each scan received: the SQL sent to Spark, the filters and files of each
//! Delta scan. Given a Databricks workspace too (`scripts/demo.sh` starts
//! the local workspace emulator and creates its sample tables), it joins all
//! four kinds of source: local Delta, Spark Connect, a Unity Catalog Delta
//! table read from storage with vended credentials, and a governed Unity
//! Catalog table (row filter, column mask) answered by the SQL warehouse.

use std::any::Any;
use std::path::PathBuf;
use std::sync::Arc;

use datafusion::arrow::array::{
    Date32Array, Decimal128Array, Int64Array, RecordBatch, StringArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::physical_plan::{ExecutionPlan, displayable};
use lakefed::BackgroundWork;
use lakefed::RemoteScanExec;
use lakefed::SessionContextExt;
use lakefed::sources::databricks_sql::DatabricksSqlOptions;
use lakefed::sources::delta::{SaveMode, StorageOptions, write_batches};
use lakefed::sources::unity_catalog::UnityCatalogOptions;
use lakefed::unstable::SparkConnectClient;
use lakefed::workspace::auth::AuthConfig;

use crate::output::{Format, run_query};

const COUNTRIES: &[&str] = &["DE", "FR", "JP", "US", "BR"];
const STATUSES: &[&str] = &["placed", "shipped", "returned"];
const CUSTOMERS: i64 = 2_000;
const ORDERS_PER_COMMIT: i64 = 50_000;
const COMMITS: i64 = 4;

/// The demo query; `{customers}` is the customers table's name.
const QUERY: &str = "\
SELECT c.country, count(*) AS orders, sum(o.amount) AS revenue
FROM demo.orders o JOIN {customers} c ON o.customer_id = c.customer_id
WHERE o.status = 'shipped' AND o.order_date >= DATE '2026-06-01' AND c.segment <> 'internal'
GROUP BY c.country
ORDER BY revenue DESC";

/// The Spark namespace holding the demo's customers table.
const SPARK_NAMESPACE: &str = "lakefed_demo";

/// The demo query over four kinds of source: Unity Catalog tables
/// `countries` (Delta, read from storage) and `targets` (governed: the
/// warehouse filters its rows and masks its `owner` column).
const LAKEHOUSE_QUERY: &str = "\
SELECT k.name AS country, k.region, count(*) AS orders, sum(o.amount) AS revenue, t.target, t.owner
FROM demo.orders o
JOIN spark.lakefed_demo.customers c ON o.customer_id = c.customer_id
JOIN uc.lakefed_demo_uc.countries k ON k.code = c.country
JOIN uc.lakefed_demo_uc.targets t ON t.country = c.country
WHERE o.status = 'shipped'
GROUP BY k.name, k.region, t.target, t.owner
ORDER BY revenue DESC";

/// A Databricks workspace for the four-source query: its URL (the token
/// comes from `DATABRICKS_TOKEN`, as for the Databricks SDKs), its SQL
/// warehouse, and the S3 endpoint of its Unity Catalog tables.
pub struct Workspace {
    /// The workspace URL.
    pub url: String,
    /// The SQL warehouse id.
    pub warehouse: String,
    /// The S3 endpoint the catalog's tables live on.
    pub storage_endpoint: String,
}

/// Creates the sample tables (once) and runs the demo query.
pub async fn run(
    dir: Option<PathBuf>,
    spark: Option<&str>,
    workspace: Option<&Workspace>,
    background: &BackgroundWork,
) -> Result<(), Box<dyn std::error::Error>> {
    let dir = dir.unwrap_or_else(|| std::env::temp_dir().join("lakefed-demo"));
    let root = dir.to_string_lossy().into_owned();
    create_orders(&root).await?;

    let ctx = lakefed::new_session_context();
    ctx.use_background_work(background.clone());
    ctx.register_delta_schema("demo", &root, StorageOptions::default())?;
    println!(
        "Sample Delta table under {root}:\n  demo.orders: {} files ({COMMITS} commits x {} status partitions), \
         three months of dates per commit",
        COMMITS as usize * STATUSES.len(),
        STATUSES.len()
    );
    let customers = match spark {
        Some(url) => {
            ctx.register_spark_connect("spark", url)?;
            create_spark_customers(url, background).await?;
            println!(
                "Sample Spark table on {url}:\n  spark.{SPARK_NAMESPACE}.customers: {CUSTOMERS} rows\n"
            );
            format!("spark.{SPARK_NAMESPACE}.customers")
        }
        None => {
            create_delta_customers(&root).await?;
            println!(
                "  demo.customers: {} files, partitioned by country (pass --spark sc://... to keep it in Spark)\n",
                COUNTRIES.len()
            );
            "demo.customers".to_string()
        }
    };
    let query = QUERY.replace("{customers}", &customers);
    println!("{query};\n");
    run_query(ctx.sql(&query).await?, Format::Table, None).await?;
    println!("\nWhat each scan received and read:");
    let plan = ctx.sql(&query).await?.create_physical_plan().await?;
    datafusion::physical_plan::collect(Arc::clone(&plan), ctx.task_ctx()).await?;
    print_scans(&plan);
    if let Some(workspace) = workspace {
        if spark.is_none() {
            return Err("the four-source query needs --spark as well".into());
        }
        run_lakehouse_query(&ctx, workspace).await?;
    }
    println!("\nFull plan with metrics: lakefed explain --analyze \"<query>\"");
    Ok(())
}

/// Attaches the workspace's warehouse as `dbx` and its Unity Catalog as
/// `uc` (governed tables answered by `dbx`), then runs the query over all
/// four kinds of source.
async fn run_lakehouse_query(
    ctx: &datafusion::prelude::SessionContext,
    workspace: &Workspace,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut auth = AuthConfig::default();
    auth.host = Some(workspace.url.clone());
    let mut warehouse = DatabricksSqlOptions::new(&workspace.warehouse);
    warehouse.catalog = Some("spark_catalog".to_string());
    ctx.register_databricks_sql("dbx", &auth, warehouse).await?;
    let mut options = UnityCatalogOptions::default();
    options.catalog = Some("spark_catalog".to_string());
    options.compute = Some("dbx".to_string());
    options.storage.endpoint = Some(workspace.storage_endpoint.clone());
    options.storage.allow_http = Some(workspace.storage_endpoint.starts_with("http://"));
    options.storage.force_path_style = Some(true);
    ctx.register_unity_catalog("uc", &auth, options).await?;
    println!(
        "\nUnity Catalog of {url} as `uc`, its SQL warehouse as `dbx`:\n  \
         uc.lakefed_demo_uc.countries: a Delta table, read from storage with vended credentials\n  \
         uc.lakefed_demo_uc.targets: row filter and column mask, answered by the warehouse\n",
        url = workspace.url
    );
    println!("{LAKEHOUSE_QUERY};\n");
    run_query(ctx.sql(LAKEHOUSE_QUERY).await?, Format::Table, None).await?;
    println!("\nWhat each scan received and read:");
    let plan = ctx
        .sql(LAKEHOUSE_QUERY)
        .await?
        .create_physical_plan()
        .await?;
    datafusion::physical_plan::collect(Arc::clone(&plan), ctx.task_ctx()).await?;
    print_scans(&plan);
    Ok(())
}

/// The scans of an executed plan: for Spark, the SQL sent and what came
/// back; for Delta, files and bytes read, and the projection and filters the
/// Parquet reader got.
fn print_scans(plan: &Arc<dyn ExecutionPlan>) {
    let metric = |node: &Arc<dyn ExecutionPlan>, name: &str| {
        node.metrics()
            .and_then(|m| m.sum_by_name(name))
            .map_or(0, |v| v.as_usize())
    };
    let any: &dyn Any = plan.as_ref();
    if let Some(scan) = any.downcast_ref::<RemoteScanExec>() {
        println!(
            "  {} ({}): rows received: {}, Arrow bytes: {}, first batch after {:.1} ms\n    sql: {}",
            scan.source(),
            scan.engine(),
            plan.metrics().and_then(|m| m.output_rows()).unwrap_or(0),
            metric(plan, "bytes_received"),
            metric(plan, "time_to_first_batch") as f64 / 1e6,
            scan.sql()
        );
    }
    if plan.name() == "DeltaScanExec" {
        let parquet = find(plan, "DataSourceExec");
        let detail = parquet
            .as_ref()
            .map(|node| displayable(node.as_ref()).one_line().to_string())
            .unwrap_or_default();
        println!(
            "  Delta: files read: {}, bytes read: {}, rows out: {}\n    projection: {}\n    filter: {}",
            metric(plan, "count_files_scanned"),
            parquet
                .as_ref()
                .map_or(0, |node| metric(node, "bytes_scanned")),
            plan.metrics().and_then(|m| m.output_rows()).unwrap_or(0),
            between(&detail, "projection=[", "]").unwrap_or("all columns"),
            between(&detail, "predicate=", ", ").unwrap_or("none"),
        );
    }
    for child in plan.children() {
        print_scans(child);
    }
}

/// The first node named `name` below `plan`.
fn find(plan: &Arc<dyn ExecutionPlan>, name: &str) -> Option<Arc<dyn ExecutionPlan>> {
    plan.children().into_iter().find_map(|child| {
        if child.name() == name {
            Some(Arc::clone(child))
        } else {
            find(child, name)
        }
    })
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let to = text[from..].find(end).map_or(text.len(), |i| from + i);
    Some(&text[from..to])
}

/// The customers table in Spark, created by lakefed's client (once).
async fn create_spark_customers(
    url: &str,
    background: &BackgroundWork,
) -> Result<(), Box<dyn std::error::Error>> {
    let client =
        SparkConnectClient::with_background(&url.parse()?, Default::default(), background.clone())?;
    let countries = COUNTRIES
        .iter()
        .map(|c| format!("'{c}'"))
        .collect::<Vec<_>>()
        .join(", ");
    client
        .collect(&format!("CREATE NAMESPACE IF NOT EXISTS {SPARK_NAMESPACE}"))
        .await?;
    client
        .collect(&format!(
            "CREATE TABLE IF NOT EXISTS {SPARK_NAMESPACE}.customers USING parquet AS \
             SELECT id AS customer_id, format_string('customer-%04d', id) AS name, \
             element_at(array({countries}), CAST(id % {n} AS INT) + 1) AS country, \
             CASE WHEN id % 50 = 0 THEN 'internal' ELSE 'retail' END AS segment \
             FROM range(1, {end})",
            n = COUNTRIES.len(),
            end = CUSTOMERS + 1
        ))
        .await?;
    Ok(())
}

/// The customers table in Delta, written anew on every run (it is small) so
/// a table left by an older demo never lacks a column.
async fn create_delta_customers(root: &str) -> Result<(), Box<dyn std::error::Error>> {
    let customers = format!("{root}/customers");
    if std::path::Path::new(&customers).exists() {
        std::fs::remove_dir_all(&customers)?;
    }
    write_batches(
        &customers,
        &StorageOptions::default(),
        vec![customers_batch()?],
        &["country"],
        SaveMode::Overwrite,
    )
    .await?;
    Ok(())
}

async fn create_orders(root: &str) -> Result<(), Box<dyn std::error::Error>> {
    let options = StorageOptions::default();
    let orders = format!("{root}/orders");
    if !std::path::Path::new(&orders).join("_delta_log").exists() {
        for commit in 0..COMMITS {
            write_batches(
                &orders,
                &options,
                vec![orders_batch(commit)?],
                &["status"],
                SaveMode::Append,
            )
            .await?;
        }
    }
    Ok(())
}

fn customers_batch() -> Result<RecordBatch, Box<dyn std::error::Error>> {
    let ids: Vec<i64> = (1..=CUSTOMERS).collect();
    let names: Vec<String> = ids.iter().map(|id| format!("customer-{id:04}")).collect();
    let countries: Vec<&str> = ids
        .iter()
        .map(|id| COUNTRIES[*id as usize % COUNTRIES.len()])
        .collect();
    let segments: Vec<&str> = ids
        .iter()
        .map(|id| if id % 50 == 0 { "internal" } else { "retail" })
        .collect();
    let schema = Schema::new(vec![
        Field::new("customer_id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("country", DataType::Utf8, false),
        Field::new("segment", DataType::Utf8, false),
    ]);
    Ok(RecordBatch::try_new(
        Arc::new(schema),
        vec![
            Arc::new(Int64Array::from(ids)),
            Arc::new(StringArray::from(names)),
            Arc::new(StringArray::from(countries)),
            Arc::new(StringArray::from(segments)),
        ],
    )?)
}

/// One commit of orders; each commit covers three months of 2026, so the
/// date filter of the demo query skips whole files by their statistics.
fn orders_batch(commit: i64) -> Result<RecordBatch, Box<dyn std::error::Error>> {
    let first = commit * ORDERS_PER_COMMIT;
    let ids: Vec<i64> = (first..first + ORDERS_PER_COMMIT).collect();
    // 2026-01-01 is day 20454 since the epoch.
    let start_day = 20_454 + (commit as i32) * 91;
    let days: Vec<i32> = ids.iter().map(|id| start_day + (*id % 91) as i32).collect();
    let customers: Vec<i64> = ids.iter().map(|id| 1 + (id * 7919) % CUSTOMERS).collect();
    let amounts: Vec<i128> = ids
        .iter()
        .map(|id| i128::from(500 + (id * 37) % 100_000))
        .collect();
    let statuses: Vec<&str> = ids
        .iter()
        .map(|id| STATUSES[(*id % 7 % 3) as usize])
        .collect();
    let schema = Schema::new(vec![
        Field::new("order_id", DataType::Int64, false),
        Field::new("customer_id", DataType::Int64, false),
        Field::new("order_date", DataType::Date32, false),
        Field::new("amount", DataType::Decimal128(12, 2), false),
        Field::new("status", DataType::Utf8, false),
    ]);
    Ok(RecordBatch::try_new(
        Arc::new(schema),
        vec![
            Arc::new(Int64Array::from(ids)),
            Arc::new(Int64Array::from(customers)),
            Arc::new(Date32Array::from(days)),
            Arc::new(Decimal128Array::from(amounts).with_precision_and_scale(12, 2)?),
            Arc::new(StringArray::from(statuses)),
        ],
    )?)
}
