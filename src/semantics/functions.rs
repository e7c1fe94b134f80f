//! Scalar functions that take the arguments Spark's do.
//!
//! [`OctetLength`]: `octet_length` counts the bytes of a string or of a
//! binary value in Spark (and of an integer's text); DataFusion's takes
//! strings only.

use std::sync::Arc;

use datafusion::arrow::compute::kernels::length::length;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue, plan_err};
use datafusion::functions::string::octet_length;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

/// DataFusion's `octet_length`, which also takes binary values.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct OctetLength {
    inner: Arc<ScalarUDF>,
    signature: Signature,
}

impl Default for OctetLength {
    fn default() -> Self {
        Self {
            inner: octet_length(),
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

/// Whether `data_type` is one of Arrow's binary types.
fn is_binary(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Binary
            | DataType::LargeBinary
            | DataType::BinaryView
            | DataType::FixedSizeBinary(_)
    )
}

impl ScalarUDFImpl for OctetLength {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    /// Strings and binary values as they are; integers and NULL as strings,
    /// as Spark casts them.
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            [t] if is_binary(t) || t.is_string() => Ok(vec![t.clone()]),
            [t] if t.is_integer() || t.is_null() => Ok(vec![DataType::Utf8]),
            [t] => plan_err!("octet_length takes a string or a binary value, not {t}"),
            _ => plan_err!("octet_length takes one argument, not {}", arg_types.len()),
        }
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types {
            [DataType::LargeBinary] => Ok(DataType::Int64),
            [binary] if is_binary(binary) => Ok(DataType::Int32),
            _ => self.inner.return_type(arg_types),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        match args.args.as_slice() {
            [ColumnarValue::Array(values)] if is_binary(values.data_type()) => {
                Ok(ColumnarValue::Array(length(values)?))
            }
            [ColumnarValue::Scalar(value)] if is_binary(&value.data_type()) => {
                let lengths = length(&value.to_array()?)?;
                Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(
                    &lengths, 0,
                )?))
            }
            _ => self.inner.invoke_with_args(args),
        }
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.inner.documentation()
    }
}
