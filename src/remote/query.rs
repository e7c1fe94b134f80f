//! A generated statement for one remote engine, and its result as a
//! DataFusion table: what a federated subplan becomes once
//! [`plan`](super::sql::plan) has rendered it.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::Session;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::error::Result as DFResult;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;

use super::RemoteEngine;
use super::scan::RemoteScanExec;

/// One statement for one remote compute context.
#[derive(Clone, Debug)]
pub(crate) struct RemoteQuery {
    /// The engine that owns every table the statement reads.
    pub engine: Arc<dyn RemoteEngine>,
    /// The lakefed source the tables belong to (for EXPLAIN).
    pub source: String,
    /// The statement; its columns are `_c0`, `_c1`, ... in the order of the
    /// rendered plan's schema.
    pub sql: String,
}

impl RemoteQuery {
    /// Whether `other` runs in the same compute context, so that the two
    /// can be parts of one statement.
    pub(crate) fn same_context(&self, other: &RemoteQuery) -> bool {
        self.engine.context() == other.engine.context()
    }

    /// The same context, another statement.
    pub(crate) fn with_sql(&self, sql: String) -> RemoteQuery {
        RemoteQuery {
            sql,
            ..self.clone()
        }
    }
}

/// The result of one generated statement; its columns are `_c0`, `_c1`, ...
/// Projections and limits wrap the statement; filters stay in DataFusion
/// (whatever could be sent is in the statement already).
#[derive(Debug)]
pub(crate) struct RemoteQueryTable {
    query: RemoteQuery,
    schema: SchemaRef,
}

impl RemoteQueryTable {
    /// The table for `query`, whose result has `schema`.
    pub(crate) fn new(query: RemoteQuery, schema: SchemaRef) -> Self {
        Self { query, schema }
    }
}

#[async_trait]
impl TableProvider for RemoteQueryTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Temporary
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        limit: Option<usize>,
    ) -> DFResult<Arc<dyn ExecutionPlan>> {
        let all_columns =
            projection.is_none_or(|p| p.iter().copied().eq(0..self.schema.fields().len()));
        let mut sql = if all_columns {
            self.query.sql.clone()
        } else {
            let columns = projection
                .into_iter()
                .flatten()
                .map(|&i| self.schema.field(i).name().clone())
                .collect::<Vec<_>>();
            let columns = if columns.is_empty() {
                "TRUE AS _empty".to_string()
            } else {
                columns.join(", ")
            };
            format!("SELECT {columns} FROM ({}) AS q", self.query.sql)
        };
        if let Some(limit) = limit {
            sql = format!("SELECT * FROM ({sql}) AS q LIMIT {limit}");
        }
        let schema = match projection {
            Some(indices) => Arc::new(self.schema.project(indices)?),
            None => self.schema.clone(),
        };
        Ok(Arc::new(RemoteScanExec::new(
            Arc::clone(&self.query.engine),
            &self.query.source,
            sql,
            schema,
        )))
    }
}
