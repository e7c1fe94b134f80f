//! Internals that lakefed's own CLI, Python binding, tests and benchmarks
//! reach for: the clients of the remote engines and the Spark SQL quoting
//! the pushdown renderer uses.
//!
//! **Not part of lakefed's stable API.** Anything here may change or go in
//! any release, patch releases included. An embedder needs none of it:
//! [`SessionContextExt`](crate::SessionContextExt), [`Config`](crate::Config)
//! and the option types of [`sources`](crate::sources) are the API.

pub use crate::remote::sql::{quote_identifier, string_literal};
pub use crate::sources::databricks_sql::client::{DatabricksSqlClient, StatementMetrics};
pub use crate::sources::spark_connect::client::SparkConnectClient;
pub use crate::sources::spark_connect::execute::ExecuteMetrics;
pub use crate::workspace::client::WorkspaceClient;
