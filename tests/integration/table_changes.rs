//! `table_changes`: the change data feed of Delta tables whose changes were
//! made by lakefed (`INSERT INTO`) and by delta-rs (DELETE, UPDATE), locally
//! and on the S3 server.

use datafusion::prelude::SessionContext;
use deltalake::kernel::DataType;
use lakefed::SessionContextExt;
use lakefed::sources::delta::{StorageOptions, TableVersion};
use url::Url;

use crate::s3_env;

/// Creates a table with its change data feed on at `url` (version 0),
/// appends ids 1..3 through lakefed as `name` (v1), deletes id 2 (v2) and
/// sets id 3's label to 'c2' (v3) with delta-rs.
async fn changed_table(ctx: &SessionContext, name: &str, url: &Url, options: &StorageOptions) {
    deltalake::DeltaTable::try_from_url_with_storage_options(url.clone(), options.to_map())
        .await
        .unwrap()
        .create()
        .with_column("id", DataType::LONG, false, None)
        .with_column("label", DataType::STRING, true, None)
        .with_configuration_property(deltalake::TableProperty::EnableChangeDataFeed, Some("true"))
        .await
        .unwrap();
    ctx.register_delta_with(name, url.as_str(), options.clone(), TableVersion::Latest)
        .await
        .unwrap();
    let insert = format!("INSERT INTO {name} VALUES (1, 'a'), (2, 'b'), (3, 'c')");
    ctx.sql(&insert).await.unwrap().collect().await.unwrap();
    let table =
        deltalake::DeltaTable::try_from_url_with_storage_options(url.clone(), options.to_map())
            .await
            .unwrap();
    let (table, _) = table.delete().with_predicate("id = 2").await.unwrap();
    table
        .update()
        .with_predicate("id = 3")
        .with_update("label", "'c2'")
        .await
        .unwrap();
}

/// The feed's rows as `id label change version`, in commit order.
async fn feed(ctx: &SessionContext, call: &str) -> Vec<String> {
    let sql = format!(
        "SELECT concat_ws(' ', id, label, _change_type, _commit_version) AS change FROM {call} \
         ORDER BY _commit_version, _change_type, id"
    );
    let batches = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
    batches
        .iter()
        .flat_map(|batch| {
            let column = batch.column(0);
            (0..batch.num_rows()).map(move |row| {
                datafusion::arrow::util::display::array_value_to_string(column, row).unwrap()
            })
        })
        .collect()
}

const EVERY_CHANGE: [&str; 6] = [
    "1 a insert 1",
    "2 b insert 1",
    "3 c insert 1",
    "2 b delete 2",
    "3 c2 update_postimage 3",
    "3 c update_preimage 3",
];

#[tokio::test(flavor = "multi_thread")]
async fn changes_of_a_local_table_by_name_and_by_location() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("t")).unwrap();
    let url = Url::from_directory_path(dir.path().join("t")).unwrap();
    let ctx = lakefed::new_session_context();
    changed_table(&ctx, "t", &url, &StorageOptions::default()).await;
    assert_eq!(feed(&ctx, "table_changes('t', 0)").await, EVERY_CHANGE);
    let by_location = format!("table_changes('{}', 2, 2)", dir.path().join("t").display());
    assert_eq!(feed(&ctx, &by_location).await, ["2 b delete 2"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn changes_of_a_table_on_s3() {
    let options = s3_env::options(&s3_env::endpoint());
    let url = Url::parse(&s3_env::unique_prefix("changes")).unwrap();
    let ctx = lakefed::new_session_context();
    changed_table(&ctx, "t", &url, &options).await;
    assert_eq!(feed(&ctx, "table_changes('t', 1)").await, EVERY_CHANGE);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_table_without_a_change_data_feed_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = lakefed::new_session_context();
    let location = dir.path().join("plain");
    lakefed::sources::delta::write_batches(
        &location.to_string_lossy(),
        &StorageOptions::default(),
        ctx.sql("SELECT 1 AS id")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap(),
        &[],
        lakefed::sources::delta::SaveMode::ErrorIfExists,
    )
    .await
    .unwrap();
    let sql = format!("SELECT * FROM table_changes('{}', 0)", location.display());
    let err = ctx.sql(&sql).await.unwrap_err().to_string();
    assert!(
        err.contains("does not record its changes at version 0")
            && err.contains("delta.enableChangeDataFeed = true"),
        "{err}"
    );
}
