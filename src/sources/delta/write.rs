//! Writing Arrow batches into a Delta table from Rust: a new table, an
//! append or an overwrite, optionally partitioned.

use datafusion::arrow::record_batch::RecordBatch;
use deltalake::DeltaTable;
pub use deltalake::protocol::SaveMode;

use super::storage::{StorageOptions, parse_new_location, redact};
use super::table::classify;
use crate::error::{Error, Result};

/// Writes `batches` as one commit to the Delta table at `location` (URL or
/// local path; a missing local directory is created).
///
/// `SaveMode::ErrorIfExists` creates a new table and fails, naming it, if one
/// is there; `Append` and `Overwrite` create the table when it is missing.
pub async fn write_batches(
    location: &str,
    options: &StorageOptions,
    batches: Vec<RecordBatch>,
    partition_by: &[&str],
    mode: SaveMode,
) -> Result<()> {
    let url = parse_new_location(location)?;
    let location = redact(&url);
    let table = DeltaTable::try_from_url_with_storage_options(url, options.to_map())
        .await
        .map_err(|err| classify(&location, err))?;
    if mode == SaveMode::ErrorIfExists && table.version().is_some() {
        return Err(Error::InvalidArgument(format!(
            "Delta table '{location}' already exists"
        )));
    }
    table
        .write(batches)
        .with_partition_columns(partition_by.iter().map(|c| c.to_string()))
        .with_save_mode(mode)
        .await
        .map_err(|err| classify(&location, err))?;
    Ok(())
}
