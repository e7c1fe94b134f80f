//! No lost writes: two `lakefed` processes writing one Delta table at the
//! same time (appends, updates of one row, merges), locally and on the S3
//! server, end with every change a statement reported present exactly
//! once; a writer killed in the middle of a write leaves the table
//! readable at its last commit.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use lakefed::SessionContextExt;

use crate::s3_env;

/// Statements each writer runs, in turns of three.
const TURNS: usize = 6;

/// A directory with a `lakefed.toml` naming `location` as schema `lake`.
fn workspace(location: &str, s3_endpoint: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut config =
        format!("[sources.lake]\nkind = \"delta\"\nurl = \"{location}\"\nlayout = \"schema\"\n");
    if let Some(endpoint) = s3_endpoint {
        config.push_str(&format!(
            "\n[sources.lake.storage]\nendpoint = \"{endpoint}\"\nregion = \"us-east-1\"\n\
             access_key_id_env = \"TEST_KEY\"\nsecret_access_key_env = \"TEST_SECRET\"\n\
             allow_http = true\nforce_path_style = true\n"
        ));
    }
    std::fs::write(dir.path().join("lakefed.toml"), config).unwrap();
    dir
}

fn lakefed(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lakefed"));
    command
        .current_dir(dir)
        .env("TEST_KEY", "test-key")
        .env("TEST_SECRET", "test-secret");
    command
}

fn sql(dir: &Path, statement: &str) -> Output {
    lakefed(dir)
        .args(["sql", "--format", "json", statement])
        .output()
        .expect("run lakefed")
}

fn rows(dir: &Path, query: &str) -> Vec<String> {
    let output = sql(dir, query);
    assert!(
        output.status.success(),
        "{query}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// What one writer's statements did.
#[derive(Default)]
struct Outcome {
    /// Ids its INSERTs and MERGEs reported written.
    written: Vec<i64>,
    /// UPDATEs of row 0 reported done.
    updates: usize,
    /// The statements that failed, with their messages.
    failures: Vec<(String, String)>,
}

/// Writer `w`: inserts ids `w*1000 + i`, adds 1 to row 0's `n`, and
/// merges id `w*1000 + 500 + i` (an insert, as no other statement writes
/// it), in turns.
fn writer(dir: &Path, w: i64) -> Outcome {
    let mut outcome = Outcome::default();
    for i in 0..TURNS as i64 {
        let insert_id = w * 1000 + i;
        let merge_id = w * 1000 + 500 + i;
        let statements = [
            (
                Some(insert_id),
                format!("INSERT INTO lake.t VALUES ({insert_id}, 0, 'insert')"),
            ),
            (None, "UPDATE lake.t SET n = n + 1 WHERE id = 0".to_owned()),
            (
                Some(merge_id),
                format!(
                    "MERGE INTO lake.t AS t USING (VALUES ({merge_id})) AS s(id) ON t.id = s.id \
                     WHEN MATCHED THEN UPDATE SET n = t.n + 1 \
                     WHEN NOT MATCHED THEN INSERT VALUES (s.id, 0, 'merge')"
                ),
            ),
        ];
        for (id, statement) in statements {
            let output = sql(dir, &statement);
            if !output.status.success() {
                let message = String::from_utf8_lossy(&output.stderr).into_owned();
                outcome.failures.push((statement, message));
                continue;
            }
            match id {
                Some(id) => outcome.written.push(id),
                None => outcome.updates += 1,
            }
        }
    }
    outcome
}

fn two_writers_lose_nothing(dir: &Path) {
    let create = "CREATE TABLE lake.t AS SELECT CAST(0 AS BIGINT) AS id, CAST(0 AS BIGINT) AS n, \
                  'seed' AS tag";
    rows(dir, create);
    let (first, second) = std::thread::scope(|scope| {
        let first = scope.spawn(|| writer(dir, 1));
        let second = scope.spawn(|| writer(dir, 2));
        (first.join().unwrap(), second.join().unwrap())
    });
    for (statement, failure) in first.failures.iter().chain(&second.failures) {
        // An INSERT whose commit conflicts fails with delta-rs's own message:
        // its sink checks the append as if it had read the table.
        let said = (failure.contains("changed nothing") && failure.contains("concurrent"))
            || (statement.starts_with("INSERT")
                && failure.contains("Commit failed: a concurrent transaction"));
        assert!(
            said,
            "a failed write says it failed because of a concurrent one: {statement}: {failure}"
        );
    }
    let mut expected: Vec<String> = first
        .written
        .iter()
        .chain(&second.written)
        .map(|id| format!("{{\"id\":{id}}}"))
        .collect();
    expected.sort();
    let mut present = rows(dir, "SELECT id FROM lake.t WHERE id <> 0");
    present.sort();
    assert_eq!(present, expected, "every reported write exactly once");
    assert_eq!(
        rows(dir, "SELECT n FROM lake.t WHERE id = 0"),
        [format!("{{\"n\":{}}}", first.updates + second.updates)],
        "every reported update of row 0 exactly once"
    );
    let statements = 2 * 3 * TURNS;
    let succeeded = first.written.len() + second.written.len() + first.updates + second.updates;
    assert!(
        succeeded * 2 > statements,
        "most statements succeed: {succeeded} of {statements}"
    );
}

#[test]
fn two_writers_on_a_local_table_lose_nothing() {
    let tables = tempfile::tempdir().unwrap();
    let dir = workspace(&tables.path().to_string_lossy(), None);
    two_writers_lose_nothing(dir.path());
}

#[test]
fn two_writers_on_s3_lose_nothing() {
    let endpoint = s3_env::endpoint();
    let dir = workspace(&s3_env::unique_prefix("concurrent"), Some(&endpoint));
    two_writers_lose_nothing(dir.path());
}

/// Kills a `lakefed` writing a large INSERT once it has begun writing data
/// files, long before it would commit.
#[test]
fn a_writer_killed_mid_write_leaves_the_last_commit() {
    let tables = tempfile::tempdir().unwrap();
    let dir = workspace(&tables.path().to_string_lossy(), None);
    rows(
        dir.path(),
        "CREATE TABLE lake.t AS SELECT CAST(id AS BIGINT) AS id, 'before' AS tag \
         FROM generate_series(1, 1000) AS g(id)",
    );
    let table = tables.path().join("t");
    let files_before = data_files(&table);
    let mut child = lakefed(dir.path())
        .args([
            "sql",
            "INSERT INTO lake.t SELECT id, repeat('x', 100) FROM generate_series(1, 100000000) AS g(id)",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while data_files(&table) == files_before {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the writer ended before it wrote a file"
        );
        assert!(Instant::now() < deadline, "the writer wrote no file");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(data_files(&table) > files_before, "killed mid-write");

    assert_eq!(
        rows(
            dir.path(),
            "SELECT count(*) AS n, min(tag) AS tag FROM lake.t"
        ),
        ["{\"n\":1000,\"tag\":\"before\"}"]
    );
    // The table takes writes again.
    rows(dir.path(), "INSERT INTO lake.t VALUES (1001, 'after')");
    assert_eq!(
        rows(dir.path(), "SELECT count(*) AS n FROM lake.t"),
        ["{\"n\":1001}"]
    );
}

/// The number of entries in `table`'s directory besides its log: data
/// files and the files a writer is still writing.
fn data_files(table: &Path) -> usize {
    std::fs::read_dir(table)
        .unwrap()
        .filter(|entry| {
            entry
                .as_ref()
                .is_ok_and(|entry| entry.file_name() != "_delta_log")
        })
        .count()
}

/// An UPDATE whose commit conflicts with a commit another process made
/// while it ran runs again on the version that commit left: the other
/// process's row is there, and the update applies to it too, once. The
/// conflict is made certain by a function in the SET clause that, the first
/// time it is evaluated, has a `lakefed` process append a row. (DELETE runs
/// through the same retry; a function in its predicate cannot make the
/// conflict, as delta-rs plans the predicate again from its SQL text.)
#[tokio::test]
async fn a_conflicting_update_runs_again_on_the_new_version() {
    let tables = tempfile::tempdir().unwrap();
    let dir = workspace(&tables.path().to_string_lossy(), None);
    rows(
        dir.path(),
        "CREATE TABLE lake.t AS SELECT * FROM (VALUES (CAST(1 AS BIGINT), CAST(0 AS BIGINT)), \
         (2, 5)) AS v(id, n)",
    );
    let ctx = lakefed::new_session_context();
    ctx.register_delta("t", &tables.path().join("t").to_string_lossy())
        .await
        .unwrap();
    ctx.register_udf(plus_one_interfering_once(dir.path()));
    let statement = "UPDATE t SET n = plus_one(n) WHERE n >= 0";
    let result = ctx.sql(statement).await.unwrap().collect().await;
    let batches = result.unwrap_or_else(|err| panic!("{statement}: {err}"));
    let changed =
        datafusion::arrow::util::display::array_value_to_string(batches[0].column(0), 0).unwrap();
    assert_eq!(changed, "3", "rows updated, the other process's included");
    assert_eq!(
        rows(dir.path(), "SELECT id, n FROM lake.t ORDER BY id"),
        [
            r#"{"id":1,"n":1}"#,
            r#"{"id":2,"n":6}"#,
            r#"{"id":3,"n":1}"#
        ]
    );
}

/// `plus_one(n)`: n + 1; its first evaluation first runs
/// `INSERT INTO lake.t VALUES (3, 0)` in another `lakefed` process.
fn plus_one_interfering_once(dir: &Path) -> datafusion::logical_expr::ScalarUDF {
    use datafusion::arrow::array::{AsArray, Int64Array};
    use datafusion::arrow::datatypes::{DataType, Int64Type};
    use datafusion::logical_expr::{ColumnarValue, Volatility, create_udf};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let dir = dir.to_path_buf();
    let interfered = AtomicBool::new(false);
    create_udf(
        "plus_one",
        vec![DataType::Int64],
        DataType::Int64,
        Volatility::Immutable,
        Arc::new(move |args: &[ColumnarValue]| {
            if !interfered.swap(true, Ordering::SeqCst) {
                rows(&dir, "INSERT INTO lake.t VALUES (3, 0)");
            }
            let values = ColumnarValue::values_to_arrays(args)?;
            let plus_one: Int64Array = values[0].as_primitive::<Int64Type>().unary(|n| n + 1);
            Ok(ColumnarValue::Array(Arc::new(plus_one)))
        }),
    )
}
