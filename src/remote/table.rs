//! One remote table as a DataFusion table: its schema comes from the
//! engine's analysis, and each scan sends one Spark SQL statement carrying
//! the projection, the filters the engine evaluates exactly as DataFusion
//! does, and the limit.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::catalog::Session;
use datafusion::common::DFSchema;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::error::{DataFusionError, Result as DFResult};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;

use super::RemoteEngine;
use super::scan::RemoteScanExec;
use super::sql::plan::column_name;
use super::sql::{filter, object_reference};
use crate::error::Result;

/// A table's name in the remote engine: optional catalog, namespace, table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteTableName {
    /// The catalog; `None` means the session's current catalog.
    pub catalog: Option<String>,
    /// The namespace (database) in that catalog.
    pub namespace: String,
    /// The table.
    pub table: String,
}

impl fmt::Display for RemoteTableName {
    /// The multi-part name as Spark SQL reads it ([`object_reference`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::with_capacity(3);
        parts.extend(self.catalog.as_deref());
        parts.extend([self.namespace.as_str(), self.table.as_str()]);
        f.write_str(&object_reference(&parts))
    }
}

/// A table of a remote engine.
pub struct RemoteTable {
    engine: Arc<dyn RemoteEngine>,
    source: String,
    name: RemoteTableName,
    schema: SchemaRef,
    df_schema: DFSchema,
}

impl fmt::Debug for RemoteTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteTable")
            .field("engine", &self.engine.kind())
            .field("source", &self.source)
            .field("name", &self.name)
            .finish()
    }
}

impl RemoteTable {
    /// Looks the table up in `engine` (its schema, by analysis). `source`
    /// names the lakefed source in EXPLAIN output.
    pub async fn try_new(
        engine: Arc<dyn RemoteEngine>,
        source: &str,
        name: RemoteTableName,
    ) -> Result<Self> {
        let schema = engine.schema(&format!("SELECT * FROM {name}")).await?;
        Self::new(engine, source, name, schema)
    }

    /// The table `name` of `engine`, whose columns are `schema` (as the
    /// engine's catalog describes them).
    pub fn new(
        engine: Arc<dyn RemoteEngine>,
        source: &str,
        name: RemoteTableName,
        schema: SchemaRef,
    ) -> Result<Self> {
        let df_schema = DFSchema::try_from(Schema::clone(&schema))?;
        Ok(Self {
            engine,
            source: source.to_string(),
            name,
            schema,
            df_schema,
        })
    }

    /// The engine the table lives in.
    pub fn engine(&self) -> &Arc<dyn RemoteEngine> {
        &self.engine
    }

    /// The lakefed source the table belongs to.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The SQL a scan sends, with the table's column names.
    fn scan_sql(
        &self,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DFResult<String> {
        self.select_sql(projection, filters, limit, false)
            .ok_or_else(|| {
                DataFusionError::Internal(format!(
                    "filters {filters:?} cannot be sent to {}",
                    self.engine.kind()
                ))
            })
    }

    /// The SQL for a scan inside a larger statement: output columns
    /// named by position (`_c0`, ...), see [`plan`](super::sql::plan).
    /// `None` if a filter is not on the allow-list.
    pub(crate) fn positional_sql(
        &self,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Option<String> {
        self.select_sql(projection, filters, limit, true)
    }

    fn select_sql(
        &self,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
        positional: bool,
    ) -> Option<String> {
        let indices = match projection {
            Some(indices) => indices.clone(),
            None => (0..self.schema.fields().len()).collect(),
        };
        let columns = if indices.is_empty() {
            // No column is needed (`count(*)`): one constant per row.
            if positional { "TRUE AS _empty" } else { "TRUE" }.to_string()
        } else {
            indices
                .iter()
                .enumerate()
                .map(|(position, &i)| {
                    let name = object_reference(&[self.schema.field(i).name()]);
                    if positional {
                        format!("{name} AS {}", column_name(position))
                    } else {
                        name
                    }
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut sql = format!("SELECT {columns} FROM {}", self.name);
        let conditions = filters
            .iter()
            .map(|expr| filter(expr, &self.df_schema))
            .collect::<Option<Vec<_>>>()?;
        if !conditions.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&conditions.join(" AND "));
        }
        if let Some(limit) = limit {
            sql.push_str(&format!(" LIMIT {limit}"));
        }
        Some(sql)
    }
}

#[async_trait]
impl TableProvider for RemoteTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DFResult<Arc<dyn ExecutionPlan>> {
        let sql = self.scan_sql(projection, filters, limit)?;
        let schema = match projection {
            Some(indices) => Arc::new(self.schema.project(indices)?),
            None => self.schema.clone(),
        };
        Ok(Arc::new(RemoteScanExec::new(
            Arc::clone(&self.engine),
            &self.source,
            sql,
            schema,
        )))
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DFResult<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|expr| match filter(expr, &self.df_schema) {
                Some(_) => TableProviderFilterPushDown::Exact,
                None => TableProviderFilterPushDown::Unsupported,
            })
            .collect())
    }
}
