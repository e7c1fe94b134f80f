//! `avg` over decimals, federated: Spark sends the sum and the count, and
//! DataFusion divides them its own way.
//!
//! The engines round the last digit differently (DataFusion truncates,
//! Spark rounds half up), so `avg(x)` over a decimal is never sent as is.
//! Instead the aggregate is split: the remote engine computes `sum(x)` and
//! `count(x)` (exact in both engines) and a local projection applies
//! [`DecimalAvg`], which divides exactly as DataFusion's `avg` does.

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, Decimal128Builder};
use datafusion::arrow::datatypes::{DataType, Decimal128Type, DecimalType, Int64Type};
use datafusion::common::tree_node::Transformed;
use datafusion::common::{Column, Result, exec_err};
use datafusion::functions_aggregate::count::count_udaf;
use datafusion::functions_aggregate::sum::sum_udaf;
use datafusion::logical_expr::expr::{AggregateFunction, AggregateFunctionParams, Alias};
use datafusion::logical_expr::{
    Aggregate, ColumnarValue, Expr, ExprSchemable, LogicalPlan, Projection, ScalarFunctionArgs,
    ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// Rewrites `aggregate` so that each `avg` over a decimal becomes `sum` and
/// `count` below a projection dividing them; `Transformed::no` when it has
/// no such `avg`.
pub(super) fn split(aggregate: Aggregate) -> Result<Transformed<LogicalPlan>> {
    let input_schema = aggregate.input.schema().clone();
    let is_decimal_avg = |expr: &Expr| match strip_alias(expr) {
        Expr::AggregateFunction(AggregateFunction { func, params }) => {
            func.name() == "avg"
                && !params.distinct
                && params.args.len() == 1
                && matches!(
                    params.args[0].get_type(&input_schema),
                    Ok(DataType::Decimal128(..))
                )
        }
        _ => false,
    };
    if !aggregate.aggr_expr.iter().any(is_decimal_avg) {
        return Ok(Transformed::no(LogicalPlan::Aggregate(aggregate)));
    }

    let groups = aggregate.group_expr.len();
    let mut aggr_expr = Vec::new();
    // Where each original aggregate's value comes from in the new one.
    let mut sources = Vec::new();
    for (i, expr) in aggregate.aggr_expr.iter().enumerate() {
        if !is_decimal_avg(expr) {
            sources.push(Source::Same(groups + aggr_expr.len()));
            aggr_expr.push(expr.clone());
            continue;
        }
        let Expr::AggregateFunction(AggregateFunction { params, .. }) = strip_alias(expr) else {
            unreachable!("checked by is_decimal_avg");
        };
        let AggregateFunctionParams { args, filter, .. } = params;
        let DataType::Decimal128(precision, scale) = args[0].get_type(&input_schema)? else {
            unreachable!("checked by is_decimal_avg");
        };
        let part = |udaf, name: &str| {
            Expr::AggregateFunction(AggregateFunction::new_udf(
                udaf,
                args.clone(),
                false,
                filter.clone(),
                vec![],
                None,
            ))
            .alias(format!("__lakefed_avg_{name}_{i}"))
        };
        sources.push(Source::Avg {
            sum: groups + aggr_expr.len(),
            count: groups + aggr_expr.len() + 1,
            function: Arc::new(ScalarUDF::from(DecimalAvg::new(precision, scale))),
        });
        aggr_expr.push(part(sum_udaf(), "sum"));
        aggr_expr.push(part(count_udaf(), "count"));
    }

    let original = aggregate.schema.clone();
    let parts = Aggregate::try_new(aggregate.input, aggregate.group_expr, aggr_expr)?;
    let column = |index: usize| Expr::Column(Column::from(parts.schema.qualified_field(index)));
    let mut exprs: Vec<Expr> = (0..groups).map(column).collect();
    for source in sources {
        exprs.push(match source {
            Source::Same(index) => column(index),
            Source::Avg {
                sum,
                count,
                function,
            } => function.call(vec![column(sum), column(count)]),
        });
    }
    let exprs = exprs
        .into_iter()
        .zip(original.iter())
        .map(|(expr, (qualifier, field))| expr.alias_qualified(qualifier.cloned(), field.name()))
        .collect();
    let projection = Projection::try_new(exprs, Arc::new(LogicalPlan::Aggregate(parts)))?;
    Ok(Transformed::yes(LogicalPlan::Projection(projection)))
}

enum Source {
    /// The aggregate at this index, unchanged.
    Same(usize),
    /// `avg` from the sum and count at these indices.
    Avg {
        sum: usize,
        count: usize,
        function: Arc<ScalarUDF>,
    },
}

fn strip_alias(expr: &Expr) -> &Expr {
    match expr {
        Expr::Alias(Alias { expr, .. }) => strip_alias(expr),
        other => other,
    }
}

/// `lakefed_decimal_avg(sum, count)`: DataFusion's `avg` of a
/// `DECIMAL(p, s)` column from its sum and count: a `DECIMAL(min(38, p + 4),
/// min(38, s + 4))`, the quotient truncated toward zero, NULL for no rows,
/// an error when it overflows.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct DecimalAvg {
    signature: Signature,
    precision: u8,
    scale: i8,
}

impl DecimalAvg {
    /// The function for an input column of `DECIMAL(precision, scale)`.
    pub fn new(precision: u8, scale: i8) -> Self {
        Self {
            signature: Signature::any(2, Volatility::Immutable),
            precision: precision.saturating_add(4).min(38),
            scale: scale.saturating_add(4).min(38),
        }
    }
}

impl ScalarUDFImpl for DecimalAvg {
    fn name(&self) -> &str {
        "lakefed_decimal_avg"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Decimal128(self.precision, self.scale))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let DataType::Decimal128(_, sum_scale) = arrays[0].data_type() else {
            return exec_err!("lakefed_decimal_avg takes a decimal sum");
        };
        if *sum_scale > self.scale || *sum_scale < 0 {
            return exec_err!("Arithmetic Overflow in AvgAccumulator");
        }
        let multiplier = 10_i128.pow((self.scale - sum_scale) as u32);
        let sums = arrays[0].as_primitive::<Decimal128Type>();
        let counts = arrays[1].as_primitive::<Int64Type>();
        let mut averages = Decimal128Builder::with_capacity(sums.len());
        for i in 0..sums.len() {
            if sums.is_null(i) || counts.is_null(i) || counts.value(i) == 0 {
                averages.append_null();
                continue;
            }
            let average = sums
                .value(i)
                .checked_mul(multiplier)
                .map(|scaled| scaled / counts.value(i) as i128)
                .filter(|average| {
                    Decimal128Type::is_valid_decimal_precision(*average, self.precision)
                });
            match average {
                Some(average) => averages.append_value(average),
                None => return exec_err!("Arithmetic Overflow in AvgAccumulator"),
            }
        }
        let averages = averages
            .finish()
            .with_precision_and_scale(self.precision, self.scale)?;
        Ok(ColumnarValue::Array(Arc::new(averages)))
    }
}
