"""lakefed: federated SQL over Delta Lake and Spark Connect, on Apache DataFusion.

>>> import lakefed
>>> ctx = lakefed.SessionContext()
>>> ctx.register_delta("orders", "/data/orders")                 # doctest: +SKIP
>>> ctx.register_spark_connect("spark", "sc://127.0.0.1:15002")  # doctest: +SKIP
>>> ctx.sql("SELECT count(*) FROM orders WHERE amount > $1", params=[100]).to_pandas()  # doctest: +SKIP
"""

from __future__ import annotations

import atexit

from lakefed._lakefed import (
    DataFrame,
    RecordBatchStream,
    SessionContext,
    __version__,
    finish_background_requests,
)
from lakefed import errors
from lakefed.errors import *  # noqa: F403 (the exception classes)

# A query cancelled just before the interpreter exits still interrupts its
# remote operations: give those requests a moment to leave.
atexit.register(finish_background_requests, 3.0)

__all__ = [
    "DataFrame",
    "RecordBatchStream",
    "SessionContext",
    "__version__",
    "errors",
    *errors.__all__,
]
