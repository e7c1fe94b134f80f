//! DELETE, UPDATE and MERGE on Delta tables, locally and on the S3 server,
//! with sources from the Spark Connect server and from other Delta tables.
//! A MERGE's result is checked against the same change written as a query
//! over the table's previous version.

use datafusion::prelude::SessionContext;
use lakefed::SessionContextExt;
use lakefed::sources::delta::{StorageOptions, TableVersion};

use crate::s3_env;
use crate::spark_env::{self, NS, query};

/// The source: Spark's fixture rows with ids up to 12, planned by Spark.
fn spark_source() -> String {
    format!("SELECT id, name, qty, price FROM spark.{NS}.items WHERE id <= 12")
}

/// Creates `lake.target`: the even ids of Spark's fixture rows and two ids
/// the source does not have.
async fn create_target(ctx: &SessionContext) {
    let create = format!(
        "CREATE TABLE lake.target AS SELECT id, name, qty, price FROM spark.{NS}.items \
         WHERE id % 2 = 0 UNION ALL SELECT * FROM (VALUES (CAST(100 AS BIGINT), 'hundred', 100, \
         CAST(100 AS DECIMAL(10, 2))), (101, NULL, NULL, NULL))"
    );
    query(ctx, &create).await;
}

/// Every kind of WHEN clause; columns from both sides.
fn merge_statement(source: &str) -> String {
    format!(
        "MERGE INTO lake.target AS t USING ({source}) AS s ON t.id = s.id
         WHEN MATCHED AND s.qty IS NULL THEN DELETE
         WHEN MATCHED THEN UPDATE SET name = concat(t.name, '+', s.name), qty = s.qty, price = s.price
         WHEN NOT MATCHED AND s.id % 3 = 0 THEN INSERT VALUES (s.id, s.name, s.qty, s.price)
         WHEN NOT MATCHED BY SOURCE AND t.qty IS NULL THEN DELETE
         WHEN NOT MATCHED BY SOURCE THEN UPDATE SET qty = -t.qty"
    )
}

/// What [`merge_statement`] makes of `before`, as a query.
fn merge_as_query(before: &str, source: &str) -> String {
    format!(
        "WITH t AS ({before}), s AS ({source}),
         joined AS (SELECT t.id AS t_id, t.name AS t_name, t.qty AS t_qty, t.price AS t_price,
                           s.id AS s_id, s.name AS s_name, s.qty AS s_qty, s.price AS s_price
                    FROM t FULL OUTER JOIN s ON t.id = s.id)
         SELECT t_id AS id, concat(t_name, '+', s_name) AS name, s_qty AS qty, s_price AS price
           FROM joined WHERE t_id IS NOT NULL AND s_id IS NOT NULL AND s_qty IS NOT NULL
         UNION ALL
         SELECT s_id, s_name, s_qty, s_price FROM joined WHERE t_id IS NULL AND s_id % 3 = 0
         UNION ALL
         SELECT t_id, t_name, -t_qty, t_price FROM joined WHERE s_id IS NULL AND t_qty IS NOT NULL
         ORDER BY id"
    )
}

/// The rows [`merge_statement`] changes in `before`, as a query.
fn changed_rows_as_query(before: &str, source: &str) -> String {
    format!(
        "WITH t AS ({before}), s AS ({source})
         SELECT count(*) FROM t FULL OUTER JOIN s ON t.id = s.id
         WHERE (t.id IS NOT NULL AND s.id IS NOT NULL)
            OR (t.id IS NULL AND s.id % 3 = 0)
            OR s.id IS NULL"
    )
}

/// Runs [`merge_statement`] from `source` into `lake.target` (at version
/// 0, at `location`) and checks the table and the count against the same
/// change as a query of version 0.
async fn merge_matches_its_query(
    ctx: &SessionContext,
    location: &str,
    options: StorageOptions,
    source: &str,
) {
    ctx.register_delta_with("before", location, options, TableVersion::Version(0))
        .await
        .unwrap();
    let before = "SELECT id, name, qty, price FROM before";
    let expected_rows = query(ctx, &merge_as_query(before, source)).await;
    let expected_count = query(ctx, &changed_rows_as_query(before, source)).await;
    assert!(expected_rows.len() > 5, "{expected_rows:?}");

    let count = query(ctx, &merge_statement(source)).await;
    assert_eq!(count, expected_count);
    let after = query(
        ctx,
        "SELECT id, name, qty, price FROM lake.target ORDER BY id",
    )
    .await;
    assert_eq!(after, expected_rows);
}

#[tokio::test(flavor = "multi_thread")]
async fn merge_from_spark_into_a_local_table_is_the_same_change_as_a_query() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = spark_env::context().await;
    ctx.register_delta_schema(
        "lake",
        &dir.path().to_string_lossy(),
        StorageOptions::default(),
    )
    .unwrap();
    create_target(&ctx).await;
    let location = dir.path().join("target");
    let location = location.to_string_lossy();
    merge_matches_its_query(&ctx, &location, StorageOptions::default(), &spark_source()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn merge_from_another_delta_table_on_s3_is_the_same_change_as_a_query() {
    let options = s3_env::options(&s3_env::endpoint());
    let prefix = s3_env::unique_prefix("merge");
    let ctx = spark_env::context().await;
    ctx.register_delta_schema("lake", &prefix, options.clone())
        .unwrap();
    create_target(&ctx).await;
    query(
        &ctx,
        &format!("CREATE TABLE lake.source AS {}", spark_source()),
    )
    .await;
    let source = "SELECT id, name, qty, price FROM lake.source";
    merge_matches_its_query(&ctx, &format!("{prefix}/target"), options, source).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_update_and_merge_on_s3_by_schema_and_by_registration() {
    let options = s3_env::options(&s3_env::endpoint());
    let prefix = s3_env::unique_prefix("dml");
    let ctx = lakefed::new_session_context();
    ctx.register_delta_schema("lake", &prefix, options.clone())
        .unwrap();
    query(
        &ctx,
        "CREATE TABLE lake.t AS SELECT CAST(id AS BIGINT) AS id, concat('r', id) AS label \
         FROM generate_series(1, 10) AS g(id)",
    )
    .await;
    assert_eq!(query(&ctx, "DELETE FROM lake.t WHERE id > 8").await, ["2"]);
    assert_eq!(
        query(&ctx, "UPDATE lake.t SET label = 'low' WHERE id <= 2").await,
        ["2"]
    );

    // The same table registered on its own sees the schema's changes and
    // makes its own.
    ctx.register_delta_with(
        "registered",
        &format!("{prefix}/t"),
        options.clone(),
        TableVersion::Latest,
    )
    .await
    .unwrap();
    let merge = "MERGE INTO registered AS r USING (VALUES (1, 'one'), (20, 'twenty')) AS s(id, label) \
                 ON r.id = s.id WHEN MATCHED THEN UPDATE SET label = s.label \
                 WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.label)";
    assert_eq!(query(&ctx, merge).await, ["2"]);
    assert_eq!(
        query(&ctx, "SELECT id, label FROM lake.t ORDER BY id").await,
        [
            "1|one",
            "2|low",
            "3|r3",
            "4|r4",
            "5|r5",
            "6|r6",
            "7|r7",
            "8|r8",
            "20|twenty"
        ]
    );
    ctx.register_delta_with(
        "t_v0",
        &format!("{prefix}/t"),
        options,
        TableVersion::Version(0),
    )
    .await
    .unwrap();
    assert_eq!(query(&ctx, "SELECT count(*) FROM t_v0").await, ["10"]);
}
