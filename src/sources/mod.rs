//! Data sources lakefed attaches to a DataFusion session.

pub mod databricks_sql;
pub mod delta;
pub mod spark_connect;
pub mod unity_catalog;
