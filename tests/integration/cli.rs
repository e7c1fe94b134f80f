//! The real `lakefed` binary: output formats, config errors, explain.

use std::path::Path;
use std::process::{Command, Output};

fn lakefed(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lakefed"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run lakefed")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "lakefed failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// A directory with a `lakefed.toml` naming one Delta table `t`, written by lakefed itself.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("tables")).unwrap();
    std::fs::write(
        dir.path().join("lakefed.toml"),
        "[sources.lake]\nkind = \"delta\"\nurl = \"tables\"\nlayout = \"schema\"\n",
    )
    .unwrap();
    let create = "CREATE TABLE lake.t AS SELECT * FROM (VALUES \
        (1, 'a,b', arrow_cast('2024-01-02T03:04:05.123456', 'Timestamp(Microsecond, Some(\"UTC\"))'), named_struct('k', 1)), \
        (2, NULL, arrow_cast('1970-01-01T00:00:00', 'Timestamp(Microsecond, Some(\"UTC\"))'), named_struct('k', 2))) \
        AS v(id, s, ts, st)";
    stdout(&lakefed(dir.path(), &["sql", create]));
    dir
}

#[test]
fn csv_has_a_header_and_iso_timestamps() {
    let dir = workspace();
    let out = stdout(&lakefed(
        dir.path(),
        &["sql", "--format", "csv", "SELECT * FROM lake.t ORDER BY id"],
    ));
    assert_eq!(
        out,
        "id,s,ts,st\n1,\"a,b\",2024-01-02T03:04:05.123456+00:00,{k: 1}\n2,,1970-01-01T00:00:00+00:00,{k: 2}\n"
    );
    let empty = stdout(&lakefed(
        dir.path(),
        &[
            "sql",
            "--format",
            "csv",
            "SELECT id FROM lake.t WHERE id > 5",
        ],
    ));
    assert_eq!(empty, "id\n");
}

#[test]
fn json_lines_and_tables() {
    let dir = workspace();
    let out = stdout(&lakefed(
        dir.path(),
        &[
            "sql",
            "--format",
            "json",
            "SELECT id, s FROM lake.t ORDER BY id",
        ],
    ));
    assert_eq!(out, "{\"id\":1,\"s\":\"a,b\"}\n{\"id\":2,\"s\":null}\n");
    let out = stdout(&lakefed(
        dir.path(),
        &["sql", "SELECT count(*) AS n FROM lake.t"],
    ));
    assert!(
        out.contains("| n |") && out.contains("| 2 |") && out.ends_with("1 row\n"),
        "{out}"
    );
}

/// DELETE, UPDATE and MERGE print the rows they changed.
#[test]
fn dml_prints_the_rows_changed() {
    let dir = workspace();
    let run = |sql: &str| stdout(&lakefed(dir.path(), &["sql", "--format", "json", sql]));
    assert_eq!(run("DELETE FROM lake.t WHERE id = 2"), "{\"count\":1}\n");
    assert_eq!(
        run("UPDATE lake.t SET s = 'new' WHERE id = 1"),
        "{\"count\":1}\n"
    );
    // `ts` and `st` hold no NULLs: a row without them is refused, and
    // nothing changes.
    let missing_columns = "MERGE INTO lake.t AS t USING (VALUES (3)) AS src(id) ON t.id = src.id \
                           WHEN NOT MATCHED THEN INSERT (id, s) VALUES (src.id, 'merged')";
    let refused = lakefed(dir.path(), &["sql", missing_columns]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("failed and changed nothing"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let merge = "MERGE INTO lake.t AS t USING (VALUES (1), (3)) AS src(id) ON t.id = src.id \
                 WHEN MATCHED THEN DELETE \
                 WHEN NOT MATCHED THEN INSERT VALUES (src.id, 'merged', now(), named_struct('k', 3))";
    assert_eq!(run(merge), "{\"count\":2}\n");
    assert_eq!(
        run("SELECT id, s FROM lake.t ORDER BY id"),
        "{\"id\":3,\"s\":\"merged\"}\n"
    );
}

/// Every value has a JSON spelling that reads back exactly: NULLs are
/// written, binary is base64, decimals keep their digits, MAP keys of any
/// type are strings, and NaN and Infinity are strings as in Spark.
#[test]
fn json_lines_write_every_value_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let query = "SELECT CAST(NULL AS INT) AS n, X'0102ff' AS b, \
        CAST('12345678901234567890.123456789012345678' AS DECIMAL(38,18)) AS d, \
        CAST(9223372036854775807 AS BIGINT) AS big, CAST('NaN' AS DOUBLE) AS nan, \
        CAST(0.1 AS FLOAT) AS f, MAP([1, 2], [X'01', CAST(NULL AS BYTEA)]) AS m, \
        named_struct('x', X'00', 'y', [1.5, CAST('-inf' AS DOUBLE)]) AS s, \
        MAP([DATE '2024-01-01'], [MAP([true], [1])]) AS nested";
    let out = stdout(&lakefed(dir.path(), &["sql", "--format", "json", query]));
    assert_eq!(
        out,
        concat!(
            r#"{"n":null,"b":"AQL/","d":12345678901234567890.123456789012345678,"#,
            r#""big":9223372036854775807,"nan":"NaN","f":0.1,"m":{"1":"AQ==","2":null},"#,
            r#""s":{"x":"AA==","y":[1.5,"-Infinity"]},"nested":{"2024-01-01":{"true":1}}}"#,
            "\n"
        )
    );
    let all_null = stdout(&lakefed(
        dir.path(),
        &[
            "sql",
            "--format",
            "json",
            "SELECT CAST(NULL AS INT) AS a, NULL AS b",
        ],
    ));
    assert_eq!(all_null, "{\"a\":null,\"b\":null}\n");
}

#[test]
fn parquet_output_round_trips() {
    let dir = workspace();
    stdout(&lakefed(
        dir.path(),
        &["sql", "--output", "out.parquet", "SELECT id, s FROM lake.t"],
    ));
    let out = stdout(&lakefed(
        dir.path(),
        &[
            "sql",
            "--format",
            "csv",
            "SELECT count(*) AS n FROM 'out.parquet'",
        ],
    ));
    assert_eq!(out, "n\n2\n");
}

#[test]
fn explain_shows_filters_in_the_scan() {
    let dir = workspace();
    let out = stdout(&lakefed(
        dir.path(),
        &["explain", "SELECT s FROM lake.t WHERE id = 2"],
    ));
    assert!(
        out.contains("TableScan: lake.t") && out.contains("id = Int64(2)"),
        "{out}"
    );
    let out = stdout(&lakefed(
        dir.path(),
        &["explain", "--analyze", "SELECT s FROM lake.t WHERE id = 2"],
    ));
    assert!(out.contains("count_files_scanned=1"), "{out}");
}

#[test]
fn config_errors_name_file_source_and_field() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        "[sources.lake]\nkind = \"delta\"\nurll = \"x\"\n",
    )
    .unwrap();
    let output = lakefed(dir.path(), &["--config", "bad.toml", "sql", "SELECT 1"]);
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("bad.toml")
            && err.contains("[sources.lake]")
            && err.contains("unknown field `urll`"),
        "{err}"
    );
}

#[test]
fn sql_errors_exit_non_zero_with_the_message() {
    let dir = workspace();
    let output = lakefed(dir.path(), &["sql", "SELECT * FROM lake.nope"]);
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("table 'datafusion.lake.nope' not found"),
        "{err}"
    );
}

#[test]
fn repl_runs_statements_from_stdin() {
    use std::io::Write;
    let dir = workspace();
    let mut child = Command::new(env!("CARGO_BIN_EXE_lakefed"))
        .current_dir(dir.path())
        .env("HOME", dir.path())
        .arg("repl")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"SELECT count(*)\n  AS n FROM lake.t;\nSELECT * FROM lake.nope;\nSELECT 7 AS seven;\n\\q\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let out = String::from_utf8_lossy(&output.stdout);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{err}");
    assert!(out.contains("| n |") && out.contains("| 2 |"), "{out}");
    assert!(
        err.contains("table 'datafusion.lake.nope' not found"),
        "{err}"
    );
    assert!(
        out.contains("| seven |"),
        "an error must not end the session: {out}"
    );
    assert!(dir.path().join(".lakefed_history").exists());
}

/// A user's own suite in a temporary directory: a file that passes, one that
/// fails, `onlyif`/`skipif` by source kind, and `--complete`.
#[test]
fn slt_runs_a_user_suite_and_reports_each_file() {
    let dir = workspace();
    let suite = dir.path().join("suite");
    std::fs::create_dir_all(suite.join("nested")).unwrap();
    let passing = "query IT\nSELECT id, s FROM lake.t ORDER BY id\n----\n1 a,b\n2 NULL\n\n\
        onlyif delta\nquery I\nSELECT count(*) FROM lake.t\n----\n2\n\n\
        onlyif spark_connect\nquery I\nSELECT count(*) FROM lake.t\n----\n999\n\n\
        skipif delta\nstatement ok\nSELECT * FROM no_such_table\n";
    std::fs::write(suite.join("passing.slt"), passing).unwrap();
    let failing = "query I\nSELECT count(*) FROM lake.t\n----\n3\n";
    std::fs::write(suite.join("nested/failing.slt"), failing).unwrap();
    std::fs::write(suite.join("notes.txt"), "not a suite").unwrap();

    let run = lakefed(dir.path(), &["slt", "suite"]);
    let out = String::from_utf8(run.stdout).unwrap();
    assert!(
        !run.status.success(),
        "a failing file fails the run:\n{out}"
    );
    assert!(out.contains("ok   suite/passing.slt"), "{out}");
    assert!(out.contains("FAIL suite/nested/failing.slt"), "{out}");
    assert!(
        out.contains("SELECT count(*) FROM lake.t"),
        "the failing query: {out}"
    );
    assert!(out.ends_with("1 passed, 1 failed\n"), "{out}");

    // `--complete` rewrites the expected result from what lakefed returns.
    let completed = lakefed(
        dir.path(),
        &["slt", "--complete", "suite/nested/failing.slt"],
    );
    assert!(completed.status.success(), "{completed:?}");
    let rewritten = std::fs::read_to_string(suite.join("nested/failing.slt")).unwrap();
    assert!(rewritten.contains("----\n2"), "{rewritten}");
    let rerun = lakefed(dir.path(), &["slt", "suite"]);
    assert_eq!(
        String::from_utf8(rerun.stdout).unwrap().lines().last(),
        Some("2 passed, 0 failed")
    );
    assert!(rerun.status.success());
}

#[test]
fn slt_errors_name_what_is_missing() {
    let dir = workspace();
    let missing = lakefed(dir.path(), &["slt", "no/such/dir"]);
    assert!(!missing.status.success());
    let stderr = String::from_utf8(missing.stderr).unwrap();
    assert!(
        stderr.contains("'no/such/dir': no such file or directory"),
        "{stderr}"
    );
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    let empty = lakefed(dir.path(), &["slt", "empty"]);
    assert!(!empty.status.success());
    let stderr = String::from_utf8(empty.stderr).unwrap();
    assert!(stderr.contains("no .slt file in 'empty'"), "{stderr}");
}

/// The example suite of `examples/slt` passes against its own config.
#[test]
fn slt_example_suite_passes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let run = lakefed(
        root,
        &[
            "slt",
            "examples/slt",
            "--config",
            "examples/slt/lakefed.toml",
        ],
    );
    let out = stdout(&run);
    assert!(out.ends_with(" passed, 0 failed\n"), "{out}");
    assert!(!out.starts_with("0 passed"), "{out}");
}
