//! A Delta table as one query resolved it.
//!
//! A schema of Delta tables, or a Unity Catalog table read from storage,
//! reads the table's log when a query names it, so that the query plans
//! against the table as it is. The query's scans then read that snapshot
//! instead of the log again, if they start moments later
//! ([`RESOLUTION_REUSE`]); a plan kept and run later (a view, a reused
//! DataFrame) reads the log again. Every resolution makes its own
//! [`ResolvedDeltaTable`], so no query reads a snapshot another query
//! resolved, and the scans of one query (a self-join) read the same one.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::Session;
use datafusion::common::DFSchemaRef;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::error::Result as DFResult;
use datafusion::logical_expr::dml::{InsertOp, MergeIntoClause};
use datafusion::logical_expr::{Expr, LogicalPlan, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use deltalake::delta_datafusion::DeltaScanNext;

use super::table::DeltaTableProvider;
use crate::error::Result;

/// How long after its resolution a query's scan reads the snapshot the
/// resolution read: planning takes moments.
const RESOLUTION_REUSE: Duration = Duration::from_secs(10);

/// A Delta table with the snapshot one query resolved it at.
pub(crate) struct ResolvedDeltaTable {
    table: Arc<DeltaTableProvider>,
    snapshot: Arc<DeltaScanNext>,
    resolved_at: Instant,
}

impl fmt::Debug for ResolvedDeltaTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResolvedDeltaTable")
            .field("table", &self.table)
            .finish()
    }
}

impl ResolvedDeltaTable {
    /// `table` with the commits made since it was last read.
    pub(crate) async fn refreshed(table: Arc<DeltaTableProvider>) -> Result<Self> {
        let snapshot = table.refresh(None).await?;
        Ok(Self::at(table, snapshot))
    }

    /// The table this resolution read.
    pub(crate) fn table(&self) -> Arc<DeltaTableProvider> {
        Arc::clone(&self.table)
    }

    /// `table` as it was just opened.
    pub(crate) fn opened(table: Arc<DeltaTableProvider>) -> Self {
        let snapshot = table.current();
        Self::at(table, snapshot)
    }

    fn at(table: Arc<DeltaTableProvider>, snapshot: Arc<DeltaScanNext>) -> Self {
        Self {
            table,
            snapshot,
            resolved_at: Instant::now(),
        }
    }
}

#[async_trait]
impl TableProvider for ResolvedDeltaTable {
    /// The schema the query was planned with.
    fn schema(&self) -> SchemaRef {
        self.snapshot.schema()
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
        let snapshot = match self.resolved_at.elapsed() < RESOLUTION_REUSE {
            true => Arc::clone(&self.snapshot),
            false => self.table.refresh(Some(&planned_schema)).await?,
        };
        self.table
            .scan_snapshot(snapshot, &planned_schema, state, projection, filters, limit)
            .await
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DFResult<Vec<TableProviderFilterPushDown>> {
        self.table.supports_filters_pushdown(filters)
    }

    /// Written through the table, which reads its log again first.
    async fn insert_into(
        &self,
        state: &dyn Session,
        input: Arc<dyn ExecutionPlan>,
        insert_op: InsertOp,
    ) -> DFResult<Arc<dyn ExecutionPlan>> {
        self.table.insert_into(state, input, insert_op).await
    }

    async fn delete_from(
        &self,
        state: &dyn Session,
        filters: Vec<Expr>,
    ) -> DFResult<Arc<dyn ExecutionPlan>> {
        self.table.delete_from(state, filters).await
    }

    async fn update(
        &self,
        state: &dyn Session,
        assignments: Vec<(String, Expr)>,
        filters: Vec<Expr>,
    ) -> DFResult<Arc<dyn ExecutionPlan>> {
        self.table.update(state, assignments, filters).await
    }

    async fn merge_into(
        &self,
        state: &dyn Session,
        source: Arc<dyn ExecutionPlan>,
        merge_schema: DFSchemaRef,
        on: Expr,
        clauses: Vec<MergeIntoClause>,
    ) -> DFResult<Arc<dyn ExecutionPlan>> {
        self.table
            .merge_into(state, source, merge_schema, on, clauses)
            .await
    }
}
