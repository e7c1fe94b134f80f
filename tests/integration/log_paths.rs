//! A `remove` cancels its `add` however the two spell the file's path
//! (relative or absolute, qualified or not, percent-encoded or not), as in
//! Delta on Spark; a `remove` of another file cancels nothing.

use std::path::{Path, PathBuf};

use datafusion::prelude::SessionContext;
use lakefed::SessionContextExt;
use lakefed::sources::delta::{SaveMode, StorageOptions, write_batches};
use serde_json::{Value, json};

/// A table partitioned by `part`, with one file per partition: `a b#c`
/// (whose escaped directory name the log percent-encodes again) holds 2
/// rows, `plain` 1.
async fn two_partitions(dir: &Path) -> PathBuf {
    let location = dir.join("my table");
    let batches = SessionContext::new()
        .sql("SELECT * FROM (VALUES (1, 'a b#c'), (2, 'a b#c'), (3, 'plain')) AS v(id, part)")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    write_batches(
        &location.to_string_lossy(),
        &StorageOptions::default(),
        batches,
        &["part"],
        SaveMode::ErrorIfExists,
    )
    .await
    .unwrap();
    location
}

/// The path the log's `add` gives the file of partition `a b#c`.
fn encoded_add_path(table: &Path) -> String {
    let log = std::fs::read_to_string(table.join("_delta_log/00000000000000000000.json")).unwrap();
    log.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|action| action["add"]["path"].as_str().map(str::to_string))
        .find(|path| !path.contains("plain"))
        .expect("an add for partition 'a b#c'")
}

/// Commits version 1 of `table`: a `remove` of `path`.
fn commit_remove(table: &Path, path: &str) {
    let remove = json!({"remove": {"path": path, "deletionTimestamp": 1, "dataChange": true}});
    std::fs::write(
        table.join("_delta_log/00000000000000000001.json"),
        format!("{remove}\n"),
    )
    .unwrap();
}

async fn rows(table: &Path) -> i64 {
    let ctx = lakefed::new_session_context();
    ctx.register_delta("t", &table.to_string_lossy())
        .await
        .unwrap();
    let batches = ctx
        .sql("SELECT count(*) FROM t")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let value = datafusion::arrow::util::display::array_value_to_string(batches[0].column(0), 0);
    value.unwrap().parse().unwrap()
}

/// Decodes `%XX` escapes: the file's path as the file system spells it.
fn decoded(path: &str) -> String {
    percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .unwrap()
        .into_owned()
}

/// Removes the file in the spelling `spell` makes of (the table directory,
/// the path of the `add`), and checks its 2 rows are gone.
async fn removed_when_spelled(spell: impl Fn(&Path, &str) -> String) {
    let dir = tempfile::tempdir().unwrap();
    let table = two_partitions(dir.path()).await;
    assert_eq!(rows(&table).await, 3);
    let add = encoded_add_path(&table);
    let remove = spell(&std::fs::canonicalize(&table).unwrap(), &add);
    commit_remove(&table, &remove);
    assert_eq!(
        rows(&table).await,
        1,
        "a remove of '{remove}' must cancel the add of '{add}'"
    );
}

#[tokio::test]
async fn the_same_relative_path() {
    removed_when_spelled(|_, add| add.to_string()).await;
}

#[tokio::test]
async fn a_relative_path_not_percent_encoded() {
    // delta-rs escapes every special character of a partition directory, so
    // the file moves to a directory whose name has some, and the `add` says
    // so percent-encoded; the `remove` spells it as written on disk (as
    // Spark does with non-ASCII characters).
    let dir = tempfile::tempdir().unwrap();
    let table = two_partitions(dir.path()).await;
    let add = encoded_add_path(&table);
    let file = add.rsplit('/').next().unwrap();
    std::fs::create_dir(table.join("dir \u{e9} x")).unwrap();
    std::fs::rename(
        table.join(decoded(&add)),
        table.join("dir \u{e9} x").join(file),
    )
    .unwrap();
    let log = table.join("_delta_log/00000000000000000000.json");
    let moved = std::fs::read_to_string(&log)
        .unwrap()
        .replace(&add, &format!("dir%20%C3%A9%20x/{file}"));
    std::fs::write(&log, moved).unwrap();
    assert_eq!(rows(&table).await, 3);
    commit_remove(&table, &format!("dir \u{e9} x/{file}"));
    assert_eq!(rows(&table).await, 1);
}

#[tokio::test]
async fn an_unqualified_absolute_path_not_percent_encoded() {
    removed_when_spelled(|table, add| {
        format!("{}/{}", table.display(), decoded(add).replace('%', "%25"))
    })
    .await;
}

#[tokio::test]
async fn a_relative_path_with_needless_escapes() {
    // `%70` is `p`, `%3d` (lower-case hex) is `=`.
    removed_when_spelled(|_, add| add.replacen('p', "%70", 1).replacen('=', "%3d", 1)).await;
}

#[tokio::test]
async fn an_absolute_file_uri() {
    removed_when_spelled(|table, add| {
        let root = url::Url::from_directory_path(table).unwrap();
        format!("{root}{add}")
    })
    .await;
}

#[tokio::test]
async fn an_absolute_uri_without_authority() {
    removed_when_spelled(|table, add| {
        let root = url::Url::from_directory_path(table).unwrap();
        format!("file:{}{add}", root.path())
    })
    .await;
}

#[tokio::test]
async fn an_unqualified_absolute_path() {
    removed_when_spelled(|table, add| {
        let root = url::Url::from_directory_path(table).unwrap();
        format!("{}{add}", root.path())
    })
    .await;
}

#[tokio::test]
async fn a_remove_of_another_file_cancels_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let table = two_partitions(dir.path()).await;
    let add = encoded_add_path(&table);
    // The same name in another directory, and a name in the root that has
    // the directory separator in it (`%2F` is part of a name, not a `/`).
    for other in [format!("/elsewhere/{add}"), add.replacen('/', "%2F", 1)] {
        commit_remove(&table, &other);
        assert_eq!(
            rows(&table).await,
            3,
            "a remove of '{other}' cancels nothing"
        );
    }
}
