//! Integer and decimal arithmetic that raises on overflow.
//!
//! DataFusion wraps integer `+`, `-`, `*` and unary `-` around on overflow
//! (`i64::MAX + 1` is `i64::MIN`) and lets a decimal result outgrow its
//! precision; Spark (ANSI mode, its default) raises `ARITHMETIC_OVERFLOW`.
//! [`CheckArithmetic`], an analyzer rule that runs after type coercion,
//! replaces each operation that can overflow by a [`CheckedArithmetic`]
//! call, computed with Arrow's checked kernels, with decimal results checked
//! against their precision. Float arithmetic, and decimal arithmetic whose
//! exact result always fits in 38 digits, stay as they are.
//!
//! The calls keep the operator's column name (`a + b`), and the Spark
//! renderer writes them back as operators ([`CheckedArithmetic::operator`]).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::compute::kernels::numeric;
use datafusion::arrow::compute::{CastOptions, cast_with_options};
use datafusion::arrow::datatypes::{DataType, Decimal128Type};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, Result, ScalarValue};
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::type_coercion::binary::BinaryTypeCoercer;
use datafusion::logical_expr::utils::merge_schema;
use datafusion::logical_expr::{
    BinaryExpr, ColumnarValue, Expr, ExprSchemable, LogicalPlan, Operator, ScalarFunctionArgs,
    ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::optimizer::AnalyzerRule;
use datafusion::physical_expr_common::datum::apply;

/// The analyzer rule that makes integer and decimal overflow an error.
#[derive(Debug, Default)]
pub struct CheckArithmetic;

impl AnalyzerRule for CheckArithmetic {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(|node| {
            let schema = merge_schema(&node.inputs());
            node.map_expressions(|expr| expr.transform_up(|expr| checked(expr, &schema)))
        })
        .map(|transformed| transformed.data)
    }

    fn name(&self) -> &str {
        "lakefed_check_arithmetic"
    }
}

/// `expr` as a checked call when it is an operation that can overflow.
fn checked(expr: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    let (op, args) = match &expr {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
            let checked_op = match op {
                Operator::Plus => CheckedOp::Add,
                Operator::Minus => CheckedOp::Subtract,
                Operator::Multiply => CheckedOp::Multiply,
                _ => return Ok(Transformed::no(expr)),
            };
            let (Ok(l), Ok(r)) = (left.get_type(schema), right.get_type(schema)) else {
                return Ok(Transformed::no(expr));
            };
            if !can_overflow(*op, &l, &r) {
                return Ok(Transformed::no(expr));
            }
            (
                checked_op,
                vec![left.as_ref().clone(), right.as_ref().clone()],
            )
        }
        Expr::Negative(inner) => match inner.get_type(schema) {
            Ok(t) if t.is_signed_integer() => (CheckedOp::Negate, vec![inner.as_ref().clone()]),
            _ => return Ok(Transformed::no(expr)),
        },
        _ => return Ok(Transformed::no(expr)),
    };
    let function = Arc::new(ScalarUDF::from(CheckedArithmetic::new(op)));
    Ok(Transformed::yes(Expr::ScalarFunction(
        ScalarFunction::new_udf(function, args),
    )))
}

/// Whether `left op right` (operands already coerced) can overflow its
/// result type: integers always; decimals when the exact result may need
/// more than 38 digits.
fn can_overflow(op: Operator, left: &DataType, right: &DataType) -> bool {
    match (left, right) {
        (l, r) if l.is_integer() && r.is_integer() => true,
        (DataType::Decimal128(p1, s1), DataType::Decimal128(p2, s2)) => {
            let (p1, s1, p2, s2) = (*p1 as i32, *s1 as i32, *p2 as i32, *s2 as i32);
            let digits = match op {
                Operator::Multiply => p1 + p2 + 1,
                _ => s1.max(s2) + (p1 - s1).max(p2 - s2) + 1,
            };
            digits > 38
        }
        _ => false,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum CheckedOp {
    Add,
    Subtract,
    Multiply,
    Negate,
}

impl CheckedOp {
    /// The binary operator; `None` for unary minus.
    fn operator(self) -> Option<Operator> {
        match self {
            CheckedOp::Add => Some(Operator::Plus),
            CheckedOp::Subtract => Some(Operator::Minus),
            CheckedOp::Multiply => Some(Operator::Multiply),
            CheckedOp::Negate => None,
        }
    }
}

/// `checked_add(a, b)`, `checked_sub`, `checked_mul`, `checked_neg(a)`:
/// integer and decimal arithmetic that fails on overflow.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct CheckedArithmetic {
    op: CheckedOp,
    signature: Signature,
}

impl CheckedArithmetic {
    fn new(op: CheckedOp) -> Self {
        let arity = if op == CheckedOp::Negate { 1 } else { 2 };
        Self {
            op,
            signature: Signature::any(arity, Volatility::Immutable),
        }
    }

    /// The operator a call of `function` computes, if it is one of these:
    /// `Some(None)` for unary minus.
    pub fn operator(function: &ScalarUDF) -> Option<Option<Operator>> {
        let inner: &dyn std::any::Any = function.inner().as_ref();
        let checked = inner.downcast_ref::<Self>()?;
        Some(checked.op.operator())
    }
}

impl ScalarUDFImpl for CheckedArithmetic {
    fn name(&self) -> &str {
        match self.op {
            CheckedOp::Add => "checked_add",
            CheckedOp::Subtract => "checked_sub",
            CheckedOp::Multiply => "checked_mul",
            CheckedOp::Negate => "checked_neg",
        }
    }

    /// The operator's own column name, so the rewrite changes no schema.
    fn schema_name(&self, args: &[Expr]) -> Result<String> {
        Ok(match (self.op.operator(), args) {
            (Some(op), [l, r]) => format!("{} {op} {}", l.schema_name(), r.schema_name()),
            (_, [inner]) => format!("(- {})", inner.schema_name()),
            _ => format!("{}(..)", self.name()),
        })
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match (self.op.operator(), arg_types) {
            (None, [t]) => Ok(t.clone()),
            (Some(operator), [l, r]) => BinaryTypeCoercer::new(l, &operator, r).get_result_type(),
            _ => datafusion::common::plan_err!("{} takes 1 or 2 arguments", self.name()),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let result = match (self.op, args.args.as_slice()) {
            (CheckedOp::Negate, [value]) => match value {
                ColumnarValue::Array(array) => ColumnarValue::Array(numeric::neg(array)?),
                ColumnarValue::Scalar(scalar) => ColumnarValue::Scalar(scalar.arithmetic_negate()?),
            },
            (CheckedOp::Add, [l, r]) => apply(l, r, numeric::add)?,
            (CheckedOp::Subtract, [l, r]) => apply(l, r, numeric::sub)?,
            (CheckedOp::Multiply, [l, r]) => apply(l, r, numeric::mul)?,
            _ => return datafusion::common::exec_err!("{}: wrong arguments", self.name()),
        };
        conform(result, args.return_field.data_type())
    }
}

/// `result` as `data_type` (Arrow's decimal kernels may pick another
/// precision than DataFusion's coercion), failing when a decimal value
/// needs more digits than the type has.
fn conform(result: ColumnarValue, data_type: &DataType) -> Result<ColumnarValue> {
    let array = result.to_array(1)?;
    let is_scalar = matches!(result, ColumnarValue::Scalar(_));
    let options = CastOptions {
        safe: false,
        ..Default::default()
    };
    let array: ArrayRef = if array.data_type() == data_type {
        array
    } else {
        cast_with_options(&array, data_type, &options)?
    };
    if let DataType::Decimal128(precision, _) = data_type {
        array
            .as_primitive::<Decimal128Type>()
            .validate_decimal_precision(*precision)?;
    }
    Ok(if is_scalar {
        ColumnarValue::Scalar(ScalarValue::try_from_array(&array, 0)?)
    } else {
        ColumnarValue::Array(array)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_operations_that_can_overflow_are_checked() {
        let d = DataType::Decimal128;
        assert!(can_overflow(
            Operator::Plus,
            &DataType::Int32,
            &DataType::Int32
        ));
        assert!(can_overflow(Operator::Multiply, &d(20, 2), &d(20, 2)));
        assert!(can_overflow(Operator::Plus, &d(38, 0), &d(38, 0)));
        // Exact results of at most 38 digits always fit (TPC-H's decimals).
        assert!(!can_overflow(Operator::Multiply, &d(15, 2), &d(16, 2)));
        assert!(!can_overflow(Operator::Minus, &d(37, 2), &d(10, 2)));
        assert!(!can_overflow(
            Operator::Plus,
            &DataType::Float64,
            &DataType::Float64
        ));
    }
}
