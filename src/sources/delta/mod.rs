//! Delta Lake: single tables, directories of tables as schemas, the
//! `delta_scan` table function, and writes through `INSERT INTO` and
//! `CREATE TABLE ... AS SELECT`.

mod canonical_log;
mod dml;
mod field_ids;
mod log_paths;
mod merge;
mod plan_table;
mod resolved;
mod schema;
mod storage;
mod table;
mod table_changes;
mod table_function;
mod write;

pub(crate) use resolved::ResolvedDeltaTable;
pub(crate) use schema::DeltaSchemaProvider;
pub use storage::StorageOptions;
pub(crate) use storage::own_authority;
pub(crate) use storage::{SUPPORTED_SCHEMES, parse_location, redact};
pub(crate) use table::WriteGrant;
pub use table::{DeltaTableProvider, TableVersion};
pub use table_changes::TableChangesFunction;
pub use table_function::DeltaScanFunction;
pub use write::{SaveMode, write_batches};
