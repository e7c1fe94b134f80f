//! Column mapping in `id` mode: a data file's columns are found by their
//! Parquet field id, not by name.
//!
//! The protocol says that in `id` mode readers resolve a column by the
//! `field_id` the file gives it. deltalake's scan matches file columns by
//! their physical name (through DataFusion's default expression adapter), so
//! a file whose columns carry the right ids under other names — a table
//! converted from Iceberg, or a file written before a writer renamed its
//! columns — read as NULLs. [`by_field_id`] wraps the scan's adapter: the
//! columns a file names differently are referred to by the file's names
//! before the usual adaptation (casts, missing columns) runs. The file schema
//! itself stays as the Parquet reader produces it, because DataFusion builds
//! the projection mask and the pruning predicates against it by name.
//! A nested field whose name differs is refused, naming the feature, rather
//! than read as NULL: nested fields are still matched by name.
//!
//! The fix belongs upstream (deltalake's scan, or a field-id aware
//! projection in DataFusion's Parquet reader); this adapter is the smallest
//! seam that needs no change to either.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::datasource::physical_plan::FileScanConfig;
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::{DataFusionError, Result as DFResult};
use datafusion::parquet::arrow::PARQUET_FIELD_ID_META_KEY;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_expr_adapter::{
    DefaultPhysicalExprAdapterFactory, PhysicalExprAdapter, PhysicalExprAdapterFactory,
};
use datafusion::physical_plan::ExecutionPlan;
use delta_kernel::schema::{ColumnMetadataKey, DataType as KernelType, MetadataValue, StructType};

/// The physical name of every column and nested field of `schema`, by its
/// column mapping id.
pub(crate) fn physical_names(schema: &StructType) -> HashMap<i64, String> {
    let mut names = HashMap::new();
    collect(schema, &mut names);
    names
}

fn collect(schema: &StructType, names: &mut HashMap<i64, String>) {
    for field in schema.fields() {
        if let (Some(id), Some(MetadataValue::String(name))) = (
            field.column_mapping_id(),
            field.get_config_value(&ColumnMetadataKey::ColumnMappingPhysicalName),
        ) {
            names.insert(id, name.clone());
        }
        collect_type(field.data_type(), names);
    }
}

fn collect_type(data_type: &KernelType, names: &mut HashMap<i64, String>) {
    match data_type {
        KernelType::Struct(inner) => collect(inner, names),
        KernelType::Array(array) => collect_type(array.element_type(), names),
        KernelType::Map(map) => {
            collect_type(map.key_type(), names);
            collect_type(map.value_type(), names);
        }
        _ => {}
    }
}

/// `plan` with every Parquet scan in it resolving file columns by field id
/// (`names`: physical names by column mapping id).
pub(crate) fn by_field_id(
    plan: Arc<dyn ExecutionPlan>,
    names: Arc<HashMap<i64, String>>,
) -> DFResult<Arc<dyn ExecutionPlan>> {
    plan.transform_down(|node| {
        let Some(source) = node.downcast_ref::<DataSourceExec>() else {
            return Ok(Transformed::no(node));
        };
        let Some(config) = source.data_source().downcast_ref::<FileScanConfig>() else {
            return Ok(Transformed::no(node));
        };
        let mut config = config.clone();
        let inner = config
            .expr_adapter_factory
            .take()
            .unwrap_or_else(|| Arc::new(DefaultPhysicalExprAdapterFactory));
        config.expr_adapter_factory = Some(Arc::new(ByFieldId {
            inner,
            names: Arc::clone(&names),
        }));
        Ok(Transformed::yes(
            DataSourceExec::from_data_source(config) as Arc<dyn ExecutionPlan>
        ))
    })
    .map(|transformed| transformed.data)
}

/// An expression adapter factory whose adapters find a file's columns by
/// field id.
#[derive(Debug)]
struct ByFieldId {
    inner: Arc<dyn PhysicalExprAdapterFactory>,
    names: Arc<HashMap<i64, String>>,
}

impl PhysicalExprAdapterFactory for ByFieldId {
    /// The inner adapter, told the file names of the columns the file names
    /// differently: the file schema stays as the Parquet reader produces it,
    /// so the projection and the pruning predicates built from the rewritten
    /// expressions name the file's own columns.
    fn create(
        &self,
        logical_file_schema: SchemaRef,
        physical_file_schema: SchemaRef,
    ) -> DFResult<Arc<dyn PhysicalExprAdapter>> {
        let renames = file_names(&physical_file_schema, &self.names)?;
        if renames.is_empty() {
            return self.inner.create(logical_file_schema, physical_file_schema);
        }
        let logical = renamed(&logical_file_schema, &renames)?;
        Ok(Arc::new(RenamedColumns {
            inner: self.inner.create(Arc::new(logical), physical_file_schema)?,
            renames,
        }))
    }
}

/// Rewrites column references to the names a file gives them, then adapts
/// them as `inner` does.
#[derive(Debug)]
struct RenamedColumns {
    inner: Arc<dyn PhysicalExprAdapter>,
    /// The file's name of each column it names differently, by physical name.
    renames: HashMap<String, String>,
}

impl PhysicalExprAdapter for RenamedColumns {
    fn rewrite(&self, expr: Arc<dyn PhysicalExpr>) -> DFResult<Arc<dyn PhysicalExpr>> {
        let renamed = expr
            .transform(|node| {
                let Some(column) = node.downcast_ref::<Column>() else {
                    return Ok(Transformed::no(node));
                };
                match self.renames.get(column.name()) {
                    Some(name) => Ok(Transformed::yes(
                        Arc::new(Column::new(name, column.index())) as Arc<dyn PhysicalExpr>,
                    )),
                    None => Ok(Transformed::no(node)),
                }
            })?
            .data;
        self.inner.rewrite(renamed)
    }
}

/// For each top-level column of `file` whose field id stands for another
/// physical name, that name and the file's; an error if a nested field's
/// name differs from its id's.
fn file_names(file: &Schema, names: &HashMap<i64, String>) -> DFResult<HashMap<String, String>> {
    let mut renames = HashMap::new();
    for field in file.fields() {
        check_nested(field.data_type(), names)?;
        if let Some(name) = named_by_id(field, names)
            && name != field.name()
        {
            renames.insert(name.clone(), field.name().clone());
        }
    }
    Ok(renames)
}

/// `schema` with its columns renamed as `renames` says; an error if two
/// columns would then share a name.
fn renamed(schema: &Schema, renames: &HashMap<String, String>) -> DFResult<Schema> {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|field| match renames.get(field.name()) {
            Some(name) => field.as_ref().clone().with_name(name),
            None => field.as_ref().clone(),
        })
        .collect();
    let mut seen = HashSet::new();
    if let Some(twice) = fields.iter().find(|field| !seen.insert(field.name())) {
        return Err(DataFusionError::NotImplemented(format!(
            "column mapping by id: a data file names a column '{twice}', the physical name \
             of another column",
            twice = twice.name()
        )));
    }
    Ok(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// The physical name `field`'s Parquet field id stands for.
fn named_by_id<'a>(field: &Field, names: &'a HashMap<i64, String>) -> Option<&'a String> {
    let id: i64 = field
        .metadata()
        .get(PARQUET_FIELD_ID_META_KEY)?
        .parse()
        .ok()?;
    names.get(&id)
}

fn check_nested(data_type: &DataType, names: &HashMap<i64, String>) -> DFResult<()> {
    let children: Vec<&Field> = match data_type {
        DataType::Struct(fields) => fields.iter().map(AsRef::as_ref).collect(),
        DataType::List(item) | DataType::LargeList(item) | DataType::Map(item, _) => {
            vec![item.as_ref()]
        }
        _ => return Ok(()),
    };
    for child in children {
        if let Some(name) = named_by_id(child, names)
            && name != child.name()
        {
            return Err(DataFusionError::NotImplemented(format!(
                "column mapping by id: a data file names nested field {name} '{}'; lakefed \
                 matches nested fields by name",
                child.name()
            )));
        }
        check_nested(child.data_type(), names)?;
    }
    Ok(())
}
