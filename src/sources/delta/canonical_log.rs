//! The Delta log as lakefed reads it: deltalake's log store, with a kernel
//! engine that hands the log's actions to the kernel in the form the
//! protocol means rather than as written.
//!
//! Two things differ from what deltalake 1.1 (the newest release) does:
//!
//! - **File paths are canonicalized** (`log_paths`), so an `add` and a
//!   `remove` that spell one file differently cancel out, as in Delta on
//!   Spark. delta_kernel matches them as strings (delta-kernel-rs #304).
//! - **`vacuumProtocolCheck` is accepted**: a reader-writer feature that only
//!   obliges `VACUUM` to check the writer protocol, so nothing changes for a
//!   reader. The kernel supports it, but deltalake's allow-list of reader
//!   features refuses every table naming it. lakefed leaves it out of the
//!   protocol it hands on, and refuses to write such a table (a write could
//!   checkpoint the protocol as lakefed sees it, dropping the feature).
//!
//! Both are done where the kernel reads log files, in its JSON, Parquet and
//! storage handlers, because every replay deltalake runs (snapshots, scans,
//! time travel, checkpoints, change data feed) takes its engine from the log
//! store. Neither needs a patch of deltalake, which would not reach crates
//! that depend on lakefed.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, ListArray, ListBuilder, RecordBatch, StringArray, StringBuilder,
    StructArray,
};
use datafusion::arrow::datatypes::DataType;
use datafusion::datasource::object_store::ObjectStoreUrl;
use delta_kernel::engine::arrow_data::ArrowEngineData;
use delta_kernel::schema::SchemaRef as KernelSchemaRef;
use delta_kernel::{
    DeltaResult as KernelResult, Engine, EngineData, EvaluationHandler, FileDataReadResultIterator,
    FileMeta, FileSlice, JsonHandler, ParquetFooter, ParquetHandler, PredicateRef, StorageHandler,
};
use deltalake::DeltaResult;
use deltalake::kernel::Version;
use deltalake::kernel::transaction::TransactionError;
use deltalake::logstore::{CommitOrBytes, LogStore, LogStoreConfig, LogStoreRef};
use object_store::ObjectStore;
use object_store::path::Path;
use url::Url;
use uuid::Uuid;

use super::log_paths::TableRoot;

/// The reader-writer feature lakefed accepts although deltalake refuses it.
const VACUUM_PROTOCOL_CHECK: &str = "vacuumProtocolCheck";

/// A log store whose kernel engine reads the log canonically (see the module
/// docs); everything else is the wrapped store's.
pub(crate) struct CanonicalLogStore {
    inner: LogStoreRef,
    reading: Arc<LogReading>,
}

impl CanonicalLogStore {
    /// Wraps `inner`.
    pub(crate) fn new(inner: LogStoreRef) -> Self {
        let reading = Arc::new(LogReading {
            root: TableRoot::new(inner.root_url()),
            hid_vacuum_check: AtomicBool::new(false),
        });
        Self { inner, reading }
    }

    /// Whether the protocol read so far names `vacuumProtocolCheck`, which
    /// lakefed does not hand on (and so cannot write back).
    pub(crate) fn hides_a_feature(&self) -> bool {
        self.reading.hid_vacuum_check.load(Ordering::Relaxed)
    }
}

/// What the handlers rewrite, and what they found.
#[derive(Debug)]
struct LogReading {
    root: TableRoot,
    hid_vacuum_check: AtomicBool,
}

impl LogReading {
    /// `data`, a batch of log actions, as lakefed reads it.
    fn rewrite(&self, data: Box<dyn EngineData>) -> KernelResult<Box<dyn EngineData>> {
        let batch = RecordBatch::from(ArrowEngineData::try_from_engine_data(data)?);
        let schema = batch.schema();
        let mut columns = batch.columns().to_vec();
        let mut changed = false;
        for (field, column) in schema.fields().iter().zip(columns.iter_mut()) {
            let rewritten = match field.name().as_str() {
                "add" | "remove" => self.with_canonical_paths(column),
                "protocol" => self.without_vacuum_check(column),
                _ => None,
            };
            if let Some(rewritten) = rewritten {
                *column = rewritten;
                changed = true;
            }
        }
        let batch = match changed {
            true => RecordBatch::try_new(schema, columns)?,
            false => batch,
        };
        Ok(Box::new(ArrowEngineData::new(batch)))
    }

    /// The `add` or `remove` column with canonical paths, if one changed.
    fn with_canonical_paths(&self, column: &ArrayRef) -> Option<ArrayRef> {
        replace_child(column, "path", |paths| {
            let paths = paths.as_string_opt::<i32>()?;
            let canonical: Vec<_> = paths
                .iter()
                .map(|path| path.map(|path| self.root.canonical(path)))
                .collect();
            if canonical
                .iter()
                .flatten()
                .all(|path| matches!(path, Cow::Borrowed(_)))
            {
                return None;
            }
            let array: StringArray = canonical.iter().map(|path| path.as_deref()).collect();
            Some(Arc::new(array) as ArrayRef)
        })
    }

    /// The `protocol` column without `vacuumProtocolCheck`, if it named it.
    fn without_vacuum_check(&self, column: &ArrayRef) -> Option<ArrayRef> {
        let mut hid = false;
        let mut column = Arc::clone(column);
        for list in ["readerFeatures", "writerFeatures"] {
            if let Some(rewritten) = replace_child(&column, list, without_feature) {
                column = rewritten;
                hid = true;
            }
        }
        if hid {
            self.hid_vacuum_check.store(true, Ordering::Relaxed);
        }
        hid.then_some(column)
    }

    /// A `.crc` file (a version checksum, which may carry the protocol) as
    /// lakefed reads it.
    fn rewrite_checksum(&self, bytes: Bytes) -> Bytes {
        let Ok(mut crc) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
            return bytes; // the kernel reports what it cannot parse
        };
        let mut hid = false;
        if let Some(protocol) = crc.get_mut("protocol") {
            for list in ["readerFeatures", "writerFeatures"] {
                if let Some(features) = protocol.get_mut(list).and_then(|f| f.as_array_mut()) {
                    let before = features.len();
                    features.retain(|feature| feature != VACUUM_PROTOCOL_CHECK);
                    hid |= features.len() != before;
                }
            }
        }
        if !hid {
            return bytes;
        }
        self.hid_vacuum_check.store(true, Ordering::Relaxed);
        serde_json::to_vec(&crc).map(Bytes::from).unwrap_or(bytes)
    }
}

/// `column` (a struct array) with its child `name` replaced by what
/// `rewrite` makes of it, or `None` if it has no such child or `rewrite`
/// changed nothing.
fn replace_child(
    column: &ArrayRef,
    name: &str,
    rewrite: impl FnOnce(&ArrayRef) -> Option<ArrayRef>,
) -> Option<ArrayRef> {
    let parent = column.as_struct_opt()?;
    let DataType::Struct(fields) = column.data_type() else {
        return None;
    };
    let (index, _) = fields.find(name)?;
    let replaced = rewrite(parent.column(index))?;
    let mut children = parent.columns().to_vec();
    children[index] = replaced;
    Some(Arc::new(StructArray::new(
        fields.clone(),
        children,
        parent.nulls().cloned(),
    )))
}

/// A list of feature names without `vacuumProtocolCheck`, if it named it.
fn without_feature(features: &ArrayRef) -> Option<ArrayRef> {
    let lists = features.as_list_opt::<i32>()?;
    let names = lists.values().as_string_opt::<i32>()?;
    if !names.iter().any(|name| name == Some(VACUUM_PROTOCOL_CHECK)) {
        return None;
    }
    let mut builder = ListBuilder::new(StringBuilder::new()).with_field(match lists.data_type() {
        DataType::List(field) => Arc::clone(field),
        _ => return None,
    });
    for list in lists.iter() {
        match list {
            Some(list) => {
                for name in list.as_string::<i32>().iter() {
                    match name {
                        Some(VACUUM_PROTOCOL_CHECK) => {}
                        name => builder.values().append_option(name),
                    }
                }
                builder.append(true);
            }
            None => builder.append(false),
        }
    }
    let rebuilt: ListArray = builder.finish();
    Some(Arc::new(rebuilt))
}

/// Maps every batch `batches` yields through `reading`.
fn rewritten(
    batches: FileDataReadResultIterator,
    reading: &Arc<LogReading>,
) -> FileDataReadResultIterator {
    let reading = Arc::clone(reading);
    Box::new(batches.map(move |batch| reading.rewrite(batch?)))
}

/// The kernel engine of a [`CanonicalLogStore`].
struct CanonicalEngine {
    inner: Arc<dyn Engine>,
    reading: Arc<LogReading>,
}

impl Engine for CanonicalEngine {
    fn evaluation_handler(&self) -> Arc<dyn EvaluationHandler> {
        self.inner.evaluation_handler()
    }

    fn storage_handler(&self) -> Arc<dyn StorageHandler> {
        Arc::new(CanonicalStorage {
            inner: self.inner.storage_handler(),
            reading: Arc::clone(&self.reading),
        })
    }

    fn json_handler(&self) -> Arc<dyn JsonHandler> {
        Arc::new(CanonicalJson {
            inner: self.inner.json_handler(),
            reading: Arc::clone(&self.reading),
        })
    }

    fn parquet_handler(&self) -> Arc<dyn ParquetHandler> {
        Arc::new(CanonicalParquet {
            inner: self.inner.parquet_handler(),
            reading: Arc::clone(&self.reading),
        })
    }
}

/// Reads commit files (and JSON checkpoints) canonically.
struct CanonicalJson {
    inner: Arc<dyn JsonHandler>,
    reading: Arc<LogReading>,
}

impl JsonHandler for CanonicalJson {
    fn parse_json(
        &self,
        json_strings: Box<dyn EngineData>,
        output_schema: KernelSchemaRef,
    ) -> KernelResult<Box<dyn EngineData>> {
        self.inner.parse_json(json_strings, output_schema)
    }

    fn read_json_files(
        &self,
        files: &[FileMeta],
        physical_schema: KernelSchemaRef,
        predicate: Option<PredicateRef>,
    ) -> KernelResult<FileDataReadResultIterator> {
        let batches = self
            .inner
            .read_json_files(files, physical_schema, predicate)?;
        Ok(rewritten(batches, &self.reading))
    }

    fn read_json_files_with_cancellation(
        &self,
        files: &[FileMeta],
        physical_schema: KernelSchemaRef,
        predicate: Option<PredicateRef>,
        cancellation_token: Option<delta_kernel::CancellationTokenRef>,
    ) -> KernelResult<FileDataReadResultIterator> {
        let batches = self.inner.read_json_files_with_cancellation(
            files,
            physical_schema,
            predicate,
            cancellation_token,
        )?;
        Ok(rewritten(batches, &self.reading))
    }

    fn write_json_file(
        &self,
        path: &Url,
        data: delta_kernel::DeltaResultIterator<'_, delta_kernel::FilteredEngineData>,
        overwrite: bool,
    ) -> KernelResult<delta_kernel::FileSize> {
        self.inner.write_json_file(path, data, overwrite)
    }
}

/// Reads Parquet checkpoints canonically.
struct CanonicalParquet {
    inner: Arc<dyn ParquetHandler>,
    reading: Arc<LogReading>,
}

impl ParquetHandler for CanonicalParquet {
    fn read_parquet_files(
        &self,
        files: &[FileMeta],
        physical_schema: KernelSchemaRef,
        predicate: Option<PredicateRef>,
    ) -> KernelResult<FileDataReadResultIterator> {
        let batches = self
            .inner
            .read_parquet_files(files, physical_schema, predicate)?;
        Ok(rewritten(batches, &self.reading))
    }

    fn read_parquet_files_with_cancellation(
        &self,
        files: &[FileMeta],
        physical_schema: KernelSchemaRef,
        predicate: Option<PredicateRef>,
        cancellation_token: Option<delta_kernel::CancellationTokenRef>,
    ) -> KernelResult<FileDataReadResultIterator> {
        let batches = self.inner.read_parquet_files_with_cancellation(
            files,
            physical_schema,
            predicate,
            cancellation_token,
        )?;
        Ok(rewritten(batches, &self.reading))
    }

    fn write_parquet_file(
        &self,
        location: Url,
        data: delta_kernel::DeltaResultIteratorStatic<Box<dyn EngineData>>,
    ) -> KernelResult<()> {
        self.inner.write_parquet_file(location, data)
    }

    fn read_parquet_footer(&self, file: &FileMeta) -> KernelResult<ParquetFooter> {
        self.inner.read_parquet_footer(file)
    }

    fn read_parquet_footer_with_cancellation(
        &self,
        file: &FileMeta,
        cancellation_token: Option<delta_kernel::CancellationTokenRef>,
    ) -> KernelResult<ParquetFooter> {
        self.inner
            .read_parquet_footer_with_cancellation(file, cancellation_token)
    }
}

/// Reads version checksums canonically; all else as the wrapped handler.
struct CanonicalStorage {
    inner: Arc<dyn StorageHandler>,
    reading: Arc<LogReading>,
}

impl CanonicalStorage {
    fn rewritten(
        &self,
        files: &[FileSlice],
        read: Box<dyn Iterator<Item = KernelResult<Bytes>>>,
    ) -> Box<dyn Iterator<Item = KernelResult<Bytes>>> {
        let checksums: Vec<bool> = files
            .iter()
            .map(|(url, _)| url.path().ends_with(".crc"))
            .collect();
        if !checksums.contains(&true) {
            return read;
        }
        let reading = Arc::clone(&self.reading);
        Box::new(
            read.zip(checksums)
                .map(move |(bytes, checksum)| match checksum {
                    true => bytes.map(|bytes| reading.rewrite_checksum(bytes)),
                    false => bytes,
                }),
        )
    }
}

impl StorageHandler for CanonicalStorage {
    fn list_from(
        &self,
        path: &Url,
    ) -> KernelResult<Box<dyn Iterator<Item = KernelResult<FileMeta>>>> {
        self.inner.list_from(path)
    }

    fn list_from_with_cancellation(
        &self,
        path: &Url,
        cancellation_token: Option<delta_kernel::CancellationTokenRef>,
    ) -> KernelResult<Box<dyn Iterator<Item = KernelResult<FileMeta>>>> {
        self.inner
            .list_from_with_cancellation(path, cancellation_token)
    }

    fn read_files(
        &self,
        files: Vec<FileSlice>,
    ) -> KernelResult<Box<dyn Iterator<Item = KernelResult<Bytes>>>> {
        let read = self.inner.read_files(files.clone())?;
        Ok(self.rewritten(&files, read))
    }

    fn read_files_with_cancellation(
        &self,
        files: Vec<FileSlice>,
        cancellation_token: Option<delta_kernel::CancellationTokenRef>,
    ) -> KernelResult<Box<dyn Iterator<Item = KernelResult<Bytes>>>> {
        let read = self
            .inner
            .read_files_with_cancellation(files.clone(), cancellation_token)?;
        Ok(self.rewritten(&files, read))
    }

    fn copy_atomic(&self, src: &Url, dest: &Url) -> KernelResult<()> {
        self.inner.copy_atomic(src, dest)
    }

    fn put(&self, path: &Url, data: Bytes, overwrite: bool) -> KernelResult<()> {
        self.inner.put(path, data, overwrite)
    }

    fn head(&self, path: &Url) -> KernelResult<FileMeta> {
        self.inner.head(path)
    }

    fn delete(&self, path: &Url) -> KernelResult<()> {
        self.inner.delete(path)
    }
}

#[async_trait]
impl LogStore for CanonicalLogStore {
    fn name(&self) -> String {
        self.inner.name()
    }

    async fn refresh(&self) -> DeltaResult<()> {
        self.inner.refresh().await
    }

    async fn read_commit_entry(&self, version: Version) -> DeltaResult<Option<Bytes>> {
        self.inner.read_commit_entry(version).await
    }

    async fn write_commit_entry(
        &self,
        version: Version,
        commit_or_bytes: CommitOrBytes,
        operation_id: Uuid,
    ) -> Result<(), TransactionError> {
        self.inner
            .write_commit_entry(version, commit_or_bytes, operation_id)
            .await
    }

    async fn abort_commit_entry(
        &self,
        version: Version,
        commit_or_bytes: CommitOrBytes,
        operation_id: Uuid,
    ) -> Result<(), TransactionError> {
        self.inner
            .abort_commit_entry(version, commit_or_bytes, operation_id)
            .await
    }

    async fn get_latest_version(&self, start_version: Version) -> DeltaResult<Version> {
        self.inner.get_latest_version(start_version).await
    }

    fn object_store(&self, operation_id: Option<Uuid>) -> Arc<dyn ObjectStore> {
        self.inner.object_store(operation_id)
    }

    fn root_object_store(&self, operation_id: Option<Uuid>) -> Arc<dyn ObjectStore> {
        self.inner.root_object_store(operation_id)
    }

    fn engine(&self, operation_id: Option<Uuid>) -> Arc<dyn Engine> {
        Arc::new(CanonicalEngine {
            inner: self.inner.engine(operation_id),
            reading: Arc::clone(&self.reading),
        })
    }

    fn to_uri(&self, location: &Path) -> String {
        self.inner.to_uri(location)
    }

    fn root_url(&self) -> &Url {
        self.inner.root_url()
    }

    fn log_path(&self) -> &Path {
        self.inner.log_path()
    }

    fn transaction_url(&self, operation_id: Option<Uuid>) -> DeltaResult<Url> {
        self.inner.transaction_url(operation_id)
    }

    async fn is_delta_table_location(&self) -> DeltaResult<bool> {
        self.inner.is_delta_table_location().await
    }

    fn config(&self) -> &LogStoreConfig {
        self.inner.config()
    }

    fn object_store_url(&self) -> ObjectStoreUrl {
        self.inner.object_store_url()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading() -> LogReading {
        LogReading {
            root: TableRoot::new(&Url::parse("file:///t/").unwrap()),
            hid_vacuum_check: AtomicBool::new(false),
        }
    }

    #[test]
    fn a_checksum_is_read_without_vacuum_protocol_check() {
        let reading = reading();
        let crc = br#"{"tableSizeBytes":1,"protocol":{"minReaderVersion":3,"minWriterVersion":7,"readerFeatures":["deletionVectors","vacuumProtocolCheck"],"writerFeatures":["vacuumProtocolCheck","deletionVectors"]}}"#;
        let read: serde_json::Value =
            serde_json::from_slice(&reading.rewrite_checksum(Bytes::from_static(crc))).unwrap();
        assert_eq!(
            read["protocol"]["readerFeatures"],
            serde_json::json!(["deletionVectors"])
        );
        assert_eq!(
            read["protocol"]["writerFeatures"],
            serde_json::json!(["deletionVectors"])
        );
        assert_eq!(read["tableSizeBytes"], 1);
        assert!(reading.hid_vacuum_check.load(Ordering::Relaxed));
    }

    #[test]
    fn a_checksum_without_the_feature_is_left_as_written() {
        let reading = reading();
        let crc =
            Bytes::from_static(br#"{"protocol":{"minReaderVersion":1,"minWriterVersion":2}}"#);
        assert_eq!(reading.rewrite_checksum(crc.clone()), crc);
        assert!(!reading.hid_vacuum_check.load(Ordering::Relaxed));
    }
}
