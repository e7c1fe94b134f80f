//! Integration tests, in one binary to keep link time down.

mod cli;
mod concurrent_writes;
mod conformance;
mod corrupt;
mod databricks;
mod dml;
mod examples;
mod federation_differential;
mod log_paths;
mod pruning;
mod s3;
mod s3_env;
mod spark;
mod spark_env;
mod spark_faults;
mod spark_pushdown;
mod table_changes;
mod unity_catalog;
