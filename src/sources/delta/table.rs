//! One Delta table as a DataFusion table: opening it (with clear errors for
//! paths that are not tables), reading the latest version on every query, time
//! travel, and appends/overwrites through `INSERT INTO`.
//!
//! Reads are delegated to `deltalake`'s kernel-based `DeltaScan`, which prunes
//! partitions and skips files with the statistics in the Delta log; DataFusion
//! then prunes row groups by their Parquet statistics.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::error::ArrowError;
use datafusion::catalog::Session;
use datafusion::common::DFSchemaRef;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::error::{DataFusionError, Result as DFResult};
use datafusion::execution::{SessionState, SessionStateBuilder};
use datafusion::logical_expr::dml::{InsertOp, MergeIntoClause};
use datafusion::logical_expr::{Expr, LogicalPlan, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use delta_kernel::Error as KernelError;
use delta_kernel::table_features::ColumnMappingMode;
use deltalake::delta_datafusion::DeltaScanNext;
use deltalake::kernel::StructTypeExt;
use deltalake::kernel::transaction::TransactionError;
use deltalake::logstore::LogStoreRef;
use deltalake::table::config::TablePropertiesExt;
use deltalake::{DeltaTable, DeltaTableBuilder, DeltaTableError};
use object_store::ObjectStore;
use parking_lot::RwLock;
use url::Url;

use super::canonical_log::CanonicalLogStore;
use super::storage::{StorageOptions, own_authority, redact};
use super::{dml, field_ids, merge};
use crate::error::{Error, Result};

/// Access a table is granted before it is written: storage credentials
/// that allow writing, asked for when a write needs them.
#[async_trait]
pub(crate) trait WriteGrant: fmt::Debug + Send + Sync {
    /// Makes the table's store able to write, or says why it cannot.
    async fn grant_writes(&self) -> Result<()>;
}

/// Which version of a table to read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TableVersion {
    /// The latest version, re-read at the start of every query.
    #[default]
    Latest,
    /// A fixed version number.
    Version(u64),
    /// The version that was current at this instant.
    Timestamp(DateTime<Utc>),
}

/// A Delta table registered in DataFusion.
///
/// Tracking the latest version, it checks the Delta log for new commits at
/// the start of every scan, so rows written by `INSERT INTO` (or by any
/// other writer) are visible to the next query; a table a query resolves
/// through a schema is read as the resolution found it
/// (`ResolvedDeltaTable`). A time-travel table
/// stays pinned.
pub struct DeltaTableProvider {
    location: String,
    version: TableVersion,
    /// What must grant writes before the table is written, if anything.
    write_grant: Option<Arc<dyn WriteGrant>>,
    /// The table's log store, which reads its log canonically.
    log: Arc<CanonicalLogStore>,
    table: tokio::sync::Mutex<DeltaTable>,
    current: RwLock<Arc<DeltaScanNext>>,
}

impl fmt::Debug for DeltaTableProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeltaTableProvider")
            .field("location", &self.location)
            .field("version", &self.version)
            .finish()
    }
}

impl DeltaTableProvider {
    /// Opens the Delta table at `url`.
    ///
    /// Fails with [`Error::NotATable`] when the location has no `_delta_log`,
    /// and with a storage or Delta error naming the location otherwise.
    pub async fn try_open(
        url: &Url,
        options: &StorageOptions,
        version: TableVersion,
    ) -> Result<Self> {
        let location = redact(url);
        let builder = DeltaTableBuilder::from_url(url.clone())
            .map_err(|err| classify(&location, err))?
            .with_storage_options(options.to_map());
        Self::load(location, builder, version).await
    }

    /// Opens the Delta table at `url` in `store`, an object store whose root
    /// is the bucket (or container) of `url` and which serves this table
    /// only: for stores lakefed builds itself, such as one whose
    /// credentials are vended for the table and refreshed.
    ///
    /// deltalake registers a table's store in the querying session under the
    /// scheme and authority (bucket) of its file URLs, and keeps the first
    /// one registered: two tables of one bucket with stores of their own
    /// would both be read through the first one's (whose credentials may
    /// not reach the second). So the table is opened under an authority of
    /// its own ([`own_authority`]); messages name its real location.
    pub(crate) async fn try_open_in(
        url: &Url,
        store: Arc<dyn ObjectStore>,
        key: &str,
        version: TableVersion,
    ) -> Result<Self> {
        let location = redact(url);
        let own = own_authority(url, key)?;
        let builder = DeltaTableBuilder::from_url(own.clone())
            .map_err(|err| classify(&location, err))?
            .with_storage_backend(store, own);
        Self::load(location, builder, version).await
    }

    async fn load(
        location: String,
        builder: DeltaTableBuilder,
        version: TableVersion,
    ) -> Result<Self> {
        let log = builder
            .build_storage()
            .map_err(|err| classify(&location, err))?;
        let log = Arc::new(CanonicalLogStore::new(log));
        let mut table = DeltaTable::new(Arc::clone(&log) as LogStoreRef);
        let loaded = match version {
            TableVersion::Latest => table.load().await,
            TableVersion::Version(v) => table.load_version(v).await,
            TableVersion::Timestamp(ts) => table.load_with_datetime(ts).await,
        };
        let loaded = loaded.map_err(|err| match (version, classify(&location, err)) {
            (TableVersion::Version(v), Error::Delta { source, .. })
                if source
                    .to_string()
                    .contains("not the same as the specified end version") =>
            {
                Error::InvalidArgument(format!(
                    "Delta table '{location}' has no version {v}: {source}"
                ))
            }
            (_, err) => err,
        });
        let loaded = match (version, loaded) {
            (TableVersion::Version(v), Err(Error::NotATable { .. }))
                if DeltaTable::new(Arc::clone(&log) as LogStoreRef)
                    .load()
                    .await
                    .is_ok() =>
            {
                Err(Error::InvalidArgument(format!(
                    "Delta table '{location}' can no longer be read at version {v}: log \
                     clean-up removed the commits and checkpoints that version needs"
                )))
            }
            (_, loaded) => loaded,
        };
        loaded?;
        if let TableVersion::Timestamp(ts) = version {
            ensure_not_before_first_commit(&location, &table, ts)?;
        }
        let scan = build_scan(&location, &table).await?;
        Ok(Self {
            location,
            version,
            write_grant: None,
            log,
            table: tokio::sync::Mutex::new(table),
            current: RwLock::new(Arc::new(scan)),
        })
    }

    /// The table, asking `grant` for access before every write.
    pub(crate) fn writable_after(mut self, grant: Arc<dyn WriteGrant>) -> Self {
        self.write_grant = Some(grant);
        self
    }

    /// The table location, without credentials.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// The Delta version this provider reads now.
    pub async fn table_version(&self) -> Option<u64> {
        self.table.lock().await.version()
    }

    /// Reads new commits from the Delta log (a no-op for time travel).
    ///
    /// Returns an error if the table's schema changed since the last refresh
    /// and `expected_schema` (the schema a query was planned with) is given.
    pub async fn refresh(&self, expected_schema: Option<&SchemaRef>) -> Result<Arc<DeltaScanNext>> {
        if self.version != TableVersion::Latest {
            return Ok(self.current());
        }
        let mut table = self.table.lock().await;
        let before = table.version();
        table
            .update_incremental(None)
            .await
            .map_err(|err| classify(&self.location, err))?;
        if table.version() != before {
            let scan = Arc::new(build_scan(&self.location, &table).await?);
            *self.current.write() = Arc::clone(&scan);
        }
        let scan = self.current();
        if let Some(expected) = expected_schema
            && scan.schema().fields() != expected.fields()
        {
            return Err(Error::InvalidArgument(format!(
                "the schema of Delta table '{}' changed while the query was planned \
                 (now at version {}); run the query again",
                self.location,
                table.version().unwrap_or_default()
            )));
        }
        Ok(scan)
    }

    /// A plan of the rows commits `start..=end` (to the latest without
    /// `end`) changed: the table's change data feed, for `table_changes`.
    pub(crate) async fn changes(
        &self,
        session: &dyn Session,
        start: TableVersion,
        end: Option<TableVersion>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.refresh(None).await?;
        let table = self.table.lock().await.clone();
        let mut changes = table.scan_cdf();
        changes = match start {
            TableVersion::Version(v) => changes.with_starting_version(v),
            TableVersion::Timestamp(ts) => changes.with_starting_timestamp(ts),
            TableVersion::Latest => changes,
        };
        changes = match end {
            Some(TableVersion::Version(v)) => changes.with_ending_version(v),
            Some(TableVersion::Timestamp(ts)) => changes.with_ending_timestamp(ts),
            Some(TableVersion::Latest) | None => changes,
        };
        changes
            .build(session, None)
            .await
            .map_err(|err| self.changes_error(err))
    }

    /// What a failed read of the change data feed tells the user.
    fn changes_error(&self, err: DeltaTableError) -> Error {
        let location = &self.location;
        match err {
            DeltaTableError::ChangeDataNotEnabled { version } => Error::InvalidArgument(format!(
                "Delta table '{location}' does not record its changes at version {version}: \
                 table_changes needs the table property delta.enableChangeDataFeed = true"
            )),
            err @ (DeltaTableError::ChangeDataNotRecorded { .. }
            | DeltaTableError::ChangeDataInvalidVersionRange { .. }
            | DeltaTableError::ChangeDataTimestampGreaterThanCommit { .. }
            | DeltaTableError::InvalidVersion(_)
            | DeltaTableError::NoStartingVersionOrTimestamp) => {
                Error::InvalidArgument(format!("table_changes on Delta table '{location}': {err}"))
            }
            err @ DeltaTableError::UnsupportedColumnMapping { .. } => Error::UnsupportedProtocol {
                location: location.clone(),
                message: err.to_string(),
            },
            other => classify(location, other),
        }
    }

    /// Checks that the table may be written now, and reads its latest
    /// version (whose scan a write goes through).
    async fn prepare_write(&self) -> DFResult<Arc<DeltaScanNext>> {
        if self.version != TableVersion::Latest {
            return Err(DataFusionError::Plan(format!(
                "cannot write to Delta table '{}': it is opened at a fixed version (time travel)",
                self.location
            )));
        }
        if let Some(grant) = &self.write_grant {
            grant.grant_writes().await.map_err(|err| {
                DataFusionError::Plan(format!(
                    "cannot write to Delta table '{}': {err}",
                    self.location
                ))
            })?;
        }
        let planned_schema = self.schema();
        let scan = self.refresh(Some(&planned_schema)).await?;
        if self.log.hides_a_feature() {
            return Err(DataFusionError::Plan(format!(
                "cannot write to Delta table '{}': its protocol has the vacuumProtocolCheck \
                 feature, which lakefed reads but does not write yet (write it with Spark)",
                self.location
            )));
        }
        Ok(scan)
    }

    /// The snapshot read last.
    pub(crate) fn current(&self) -> Arc<DeltaScanNext> {
        Arc::clone(&self.current.read())
    }

    /// A scan of `snapshot`, the table as `planned_schema` describes it.
    pub(crate) async fn scan_snapshot(
        &self,
        snapshot: Arc<DeltaScanNext>,
        planned_schema: &SchemaRef,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DFResult<Arc<dyn ExecutionPlan>> {
        let plan = self
            .scan_by_name(snapshot, planned_schema, state, projection, filters, limit)
            .await?;
        match self.physical_names_by_id().await {
            Some(names) => field_ids::by_field_id(plan, Arc::new(names)),
            None => Ok(plan),
        }
    }

    /// In column mapping `id` mode, the physical names of the table's
    /// columns by id (see [`field_ids`]); `None` in any other mode. They are
    /// read from the latest snapshot this provider holds, which may be newer
    /// than the one scanned: ids are never reused, so a newer schema maps
    /// every id it knows the same way.
    async fn physical_names_by_id(&self) -> Option<HashMap<i64, String>> {
        let table = self.table.lock().await;
        let state = table.snapshot().ok()?;
        let mode = state.snapshot().table_properties().column_mapping_mode;
        (mode == Some(ColumnMappingMode::Id)).then(|| field_ids::physical_names(&state.schema()))
    }

    /// A scan of `snapshot` whose Parquet reads match file columns by name.
    async fn scan_by_name(
        &self,
        snapshot: Arc<DeltaScanNext>,
        planned_schema: &SchemaRef,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DFResult<Arc<dyn ExecutionPlan>> {
        let (float_filters, filters): (Vec<Expr>, Vec<Expr>) = filters
            .iter()
            .cloned()
            .partition(|filter| names_a_float(filter, planned_schema));
        // A float column in the output can get a filter from above at run
        // time too: `ORDER BY x DESC LIMIT n` pushes `x > <n-th best>` into
        // the scan, which pruned files holding NaN by their statistics.
        let reads_a_float = planned_schema
            .fields()
            .iter()
            .enumerate()
            .filter(|(i, _)| projection.is_none_or(|columns| columns.contains(i)))
            .any(|(_, field)| field.data_type().is_floating());
        if float_filters.is_empty() && !reads_a_float {
            return snapshot.scan(state, projection, &filters, limit).await;
        }
        snapshot
            .scan(
                &without_statistics_pruning(state)?,
                projection,
                &filters,
                limit,
            )
            .await
    }
}

/// What a write to `table` would have to check or compute that deltalake's
/// DataFusion sink (which `INSERT INTO` uses) does not: CHECK constraints,
/// column invariants and generated columns. Writing past them would commit
/// rows that break the table's rules.
fn unchecked_on_write(table: &DeltaTable) -> Option<String> {
    let state = table.snapshot().ok()?;
    if let Some(constraint) = state.table_config().get_constraints().first() {
        return Some(format!("CHECK constraint {}", constraint.name));
    }
    let schema = state.schema();
    match schema.get_invariants() {
        Ok(invariants) if invariants.is_empty() => {}
        Ok(invariants) => {
            return Some(format!(
                "an invariant on column {}",
                invariants[0].field_name
            ));
        }
        Err(_) => return Some("column invariants".to_string()),
    }
    match schema.get_generated_columns() {
        Ok(generated) if generated.is_empty() => None,
        Ok(generated) => Some(format!("generated column {}", generated[0].name)),
        Err(_) => Some("generated columns".to_string()),
    }
}

/// Time travel to an instant before the table existed is an error, as in
/// Spark, rather than silently reading the first version.
fn ensure_not_before_first_commit(
    location: &str,
    table: &DeltaTable,
    ts: DateTime<Utc>,
) -> Result<()> {
    let state = table.snapshot().map_err(|err| classify(location, err))?;
    let version = state.version();
    let committed_ms = state.version_timestamp(version);
    if let Some(committed_ms) = committed_ms
        && committed_ms > ts.timestamp_millis()
    {
        let committed = DateTime::from_timestamp_millis(committed_ms).unwrap_or_default();
        return Err(Error::InvalidArgument(format!(
            "the timestamp {} is before the earliest available version of Delta table '{location}' \
             (version {version}, committed at {})",
            ts.to_rfc3339(),
            committed.to_rfc3339()
        )));
    }
    Ok(())
}

/// Builds the `deltalake` scan for the table's current snapshot.
///
/// Its configuration comes from DataFusion's defaults, not `deltalake`'s: in
/// particular filters are not evaluated row by row inside the Parquet reader
/// (`datafusion.execution.parquet.pushdown_filters` is off by default), which
/// made TPC-H Q6 run 2x slower. They still prune files, row groups and pages.
async fn build_scan(location: &str, table: &DeltaTable) -> Result<DeltaScanNext> {
    let defaults = Arc::new(SessionStateBuilder::new().build());
    table
        .table_provider()
        .with_session(defaults)
        .build()
        .await
        .map_err(|err| match err {
            DataFusionError::External(source) => match source.downcast::<DeltaTableError>() {
                Ok(delta) => classify(location, *delta),
                Err(other) => Error::Storage {
                    location: location.to_string(),
                    message: other.to_string(),
                },
            },
            other => Error::Storage {
                location: location.to_string(),
                message: other.to_string(),
            },
        })
}

/// Turns a `deltalake` error into the lakefed error a user can act on.
pub(crate) fn classify(location: &str, err: DeltaTableError) -> Error {
    let location = location.to_string();
    let err = match err {
        DeltaTableError::KernelError(kernel) => {
            let kernel = without_backtrace(kernel);
            if let Some(err) = table_error(location.clone(), &kernel) {
                return err;
            }
            DeltaTableError::KernelError(kernel)
        }
        other => other,
    };
    match err {
        DeltaTableError::ObjectStore { source } => storage_error(location, &source),
        DeltaTableError::NotATable(_) | DeltaTableError::InvalidTableLocation(_) => {
            not_a_table(location)
        }
        DeltaTableError::Transaction {
            source: TransactionError::UnsupportedTableFeatures(features),
        } => Error::UnsupportedProtocol {
            location,
            message: format!("it needs table features lakefed cannot read: {features:?}"),
        },
        other if is_missing_log(&other.to_string()) => not_a_table(location),
        other if is_access_denied(&other.to_string()) => Error::Storage {
            location,
            message: format!("access denied; check the credentials ({other})"),
        },
        other => Error::Delta {
            location,
            source: Box::new(other),
        },
    }
}

/// The kernel error without the backtrace it may carry (the kernel records
/// one when `RUST_BACKTRACE` is set, and prints it as part of the message).
fn without_backtrace(err: KernelError) -> KernelError {
    match err {
        KernelError::Backtraced { source, .. } => without_backtrace(*source),
        other => other,
    }
}

/// Which lakefed error a kernel error is, where it says what is wrong with
/// the table (its protocol, or its log) rather than with reaching it.
fn table_error(location: String, err: &KernelError) -> Option<Error> {
    let message = err.to_string();
    match err {
        KernelError::InvalidProtocol(_) | KernelError::Unsupported(_) => {
            Some(Error::UnsupportedProtocol { location, message })
        }
        KernelError::MissingMetadata
        | KernelError::MissingProtocol
        | KernelError::MissingMetadataAndProtocol
        | KernelError::InvalidCheckpoint(_)
        | KernelError::MalformedJson(_)
        | KernelError::Schema(_)
        | KernelError::InvalidColumnMappingMode(_) => Some(Error::InvalidLog { location, message }),
        KernelError::Arrow(ArrowError::JsonError(_)) => {
            Some(Error::InvalidLog { location, message })
        }
        // The kernel finds an action without a field the protocol requires
        // when it reads the action into Arrow.
        KernelError::Arrow(_) if message.contains("unmasked nulls") => Some(Error::InvalidLog {
            location,
            message: format!("a log action lacks a required field ({message})"),
        }),
        // The kernel reports a missing commit file only in a generic error.
        KernelError::Generic(text) if text.starts_with("Expected contiguous commit files") => {
            Some(Error::InvalidLog {
                location,
                message: log_gap(text),
            })
        }
        _ => None,
    }
}

/// What a gap between two commit files means, naming the files around it
/// (the kernel's message prints them as its own debug structures).
fn log_gap(kernel_message: &str) -> String {
    let files: Vec<&str> = kernel_message
        .split("filename: \"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    match files.as_slice() {
        [before, after] => format!(
            "commit files are missing between {before} and {after}, and no checkpoint covers them"
        ),
        _ => format!("commit files are missing, and no checkpoint covers them ({kernel_message})"),
    }
}

fn not_a_table(location: String) -> Error {
    Error::NotATable {
        location,
        reason: "no Delta log (_delta_log) was found there; check the path".to_string(),
    }
}

/// The messages `deltalake` and its kernel give for a location without a log.
fn is_missing_log(message: &str) -> bool {
    [
        "No files in log segment",
        "Path does not exist",
        "Table not found",
        "Invalid table location",
    ]
    .iter()
    .any(|needle| message.contains(needle))
}

/// The messages object stores give when credentials are wrong or missing,
/// also when the kernel wraps them in its own error.
fn is_access_denied(message: &str) -> bool {
    [
        "lacked the necessary privileges",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "403 Forbidden",
        "401 Unauthorized",
    ]
    .iter()
    .any(|needle| message.contains(needle))
}

fn storage_error(location: String, source: &object_store::Error) -> Error {
    let message = match source {
        object_store::Error::NotFound { .. } => {
            return not_a_table(location);
        }
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. } => {
            format!("access denied; check the credentials ({source})")
        }
        _ => source.to_string(),
    };
    Error::Storage { location, message }
}

/// deltalake's answer for `filter`, made safe: `Exact` only for a filter
/// that names a column. deltalake calls a filter without columns exact
/// (all of its columns are partition columns, vacuously), but its scan
/// ignores a constant `NULL`, which is what DataFusion makes of the `NULL`
/// in `x NOT IN ('a', NULL)` (`x <> 'a' AND NULL`): reported exact, the
/// filter would be lost and rows returned.
fn kept_above_scan(
    filter: &Expr,
    answer: TableProviderFilterPushDown,
) -> TableProviderFilterPushDown {
    match answer {
        TableProviderFilterPushDown::Exact if filter.column_refs().is_empty() => {
            TableProviderFilterPushDown::Inexact
        }
        other => other,
    }
}

/// Whether `filter` reads a floating-point column. Parquet and Delta
/// statistics leave NaN out of a column's min and max, while DataFusion and
/// the Delta kernel order NaN above every number: skipping files or row
/// groups by such a filter (`x = 'NaN'`, `x > 1`) would drop the NaN rows it
/// matches. Such filters are checked above the scan only, and a scan with
/// one, or reading a float column, prunes nothing by statistics (see
/// [`without_statistics_pruning`]).
fn names_a_float(filter: &Expr, schema: &SchemaRef) -> bool {
    filter.column_refs().iter().any(|column| {
        schema
            .field_with_name(&column.name)
            .is_ok_and(|field| field.data_type().is_floating())
    })
}

/// `state` with Parquet row-group, page and bloom-filter pruning off. The
/// filter above a Delta scan is handed down to its Parquet reader for
/// pruning by statistics even where the provider keeps it (DataFusion's
/// physical filter pushdown); the reader's options come from the session
/// the scan is planned with.
fn without_statistics_pruning(state: &dyn Session) -> DFResult<SessionState> {
    let state = state
        .as_any()
        .downcast_ref::<SessionState>()
        .ok_or_else(|| {
            DataFusionError::Internal("a Delta scan is planned in a DataFusion SessionState".into())
        })?;
    let mut config = state.config().clone();
    let parquet = &mut config.options_mut().execution.parquet;
    parquet.pruning = false;
    parquet.enable_page_index = false;
    parquet.bloom_filter_on_read = false;
    Ok(SessionStateBuilder::new_from_existing(state.clone())
        .with_config(config)
        .build())
}

#[async_trait]
impl TableProvider for DeltaTableProvider {
    fn schema(&self) -> SchemaRef {
        self.current.read().schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn get_logical_plan(&self) -> Option<Cow<'_, LogicalPlan>> {
        None
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DFResult<Arc<dyn ExecutionPlan>> {
        let planned_schema = self.schema();
        let snapshot = self.refresh(Some(&planned_schema)).await?;
        self.scan_snapshot(snapshot, &planned_schema, state, projection, filters, limit)
            .await
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DFResult<Vec<TableProviderFilterPushDown>> {
        let schema = self.schema();
        let answers = self.current().supports_filters_pushdown(filters)?;
        Ok(filters
            .iter()
            .zip(answers)
            .map(|(filter, answer)| match names_a_float(filter, &schema) {
                true => TableProviderFilterPushDown::Inexact,
                false => kept_above_scan(filter, answer),
            })
            .collect())
    }

    async fn insert_into(
        &self,
        state: &dyn Session,
        input: Arc<dyn ExecutionPlan>,
        insert_op: InsertOp,
    ) -> DFResult<Arc<dyn ExecutionPlan>> {
        let scan = self.prepare_write().await?;
        if let Some(unchecked) = unchecked_on_write(&*self.table.lock().await) {
            return Err(DataFusionError::Plan(format!(
                "cannot write to Delta table '{}': it has {unchecked}, which lakefed's Delta \
                 writer does not check yet (write it with Spark or delta-rs)",
                self.location
            )));
        }
        scan.insert_into(state, input, insert_op).await
    }

    async fn delete_from(
        &self,
        state: &dyn Session,
        filters: Vec<Expr>,
    ) -> DFResult<Arc<dyn ExecutionPlan>> {
        self.prepare_write().await?;
        let table = self.table.lock().await.clone();
        dml::delete(table, state, filters, self.location.clone())
    }

    async fn update(
        &self,
        _state: &dyn Session,
        assignments: Vec<(String, Expr)>,
        filters: Vec<Expr>,
    ) -> DFResult<Arc<dyn ExecutionPlan>> {
        self.prepare_write().await?;
        let table = self.table.lock().await.clone();
        dml::update(table, assignments, filters, self.location.clone())
    }

    async fn merge_into(
        &self,
        state: &dyn Session,
        source: Arc<dyn ExecutionPlan>,
        merge_schema: DFSchemaRef,
        on: Expr,
        clauses: Vec<MergeIntoClause>,
    ) -> DFResult<Arc<dyn ExecutionPlan>> {
        self.prepare_write().await?;
        let table = self.table.lock().await.clone();
        merge::merge(
            table,
            state,
            source,
            merge_schema,
            on,
            clauses,
            self.location.clone(),
        )
    }
}
