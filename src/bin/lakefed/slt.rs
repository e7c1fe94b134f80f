//! `lakefed slt`: runs a team's own `.slt` files against the sources of its
//! `lakefed.toml`, one fresh session per file.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use lakefed::slt::{SltOptions, find_slt_files, run_file};
use lakefed::{BackgroundWork, Config};

/// Runs (or, with `complete`, rewrites) the `.slt` files of `paths`; prints
/// one line per file and a summary, and fails when a file fails.
///
/// Every file may use `onlyif`/`skipif` with the kind of each configured
/// source (`delta`, `spark_connect`, `databricks_sql`, `unity_catalog`).
pub async fn run(
    config_path: Option<&Path>,
    paths: &[PathBuf],
    complete: bool,
    background: &BackgroundWork,
) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let files = find_slt_files(paths)?;
    if files.is_empty() {
        return Err(format!("no .slt file in {}", display_paths(paths)).into());
    }
    let config = crate::config_file(config_path)
        .map(Config::from_file)
        .transpose()?;
    let mut options = SltOptions::default();
    options.complete = complete;
    if let Some(config) = &config {
        options.labels = source_labels(config);
    }
    let (mut passed, mut failed) = (0, 0);
    for file in &files {
        let outcome = match crate::session(config.as_ref(), background).await {
            Ok(ctx) => run_file(ctx, file, &options)
                .await
                .map_err(|failure| failure.to_string()),
            Err(err) => Err(format!("cannot attach the sources: {err}")),
        };
        match outcome {
            Ok(()) => {
                passed += 1;
                let verb = if complete { "completed" } else { "ok" };
                println!("{verb:<4} {}", file.display());
            }
            Err(message) => {
                failed += 1;
                println!("FAIL {}\n{message}\n", file.display());
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The kind of each source, once.
fn source_labels(config: &Config) -> Vec<String> {
    let mut labels: Vec<String> = config
        .sources
        .iter()
        .map(|source| source.kind.name().to_string())
        .collect();
    labels.sort();
    labels.dedup();
    labels
}

fn display_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|path| format!("'{}'", path.display()))
        .collect::<Vec<_>>()
        .join(", ")
}
