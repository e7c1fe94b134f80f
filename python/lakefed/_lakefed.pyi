"""Type stubs of lakefed's native module (re-exported by ``lakefed``)."""

import datetime
import os
from collections.abc import Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any

import pandas
import polars
import pyarrow

from lakefed._display import PlanText

__version__: str

class SessionContext:
    """A lakefed session: the sources it has attached, and SQL over them.

    Every call that waits (planning may reach a remote catalog; running always
    can) releases the GIL, and Ctrl-C (a notebook's interrupt) cancels it,
    remote operations included, raising ``KeyboardInterrupt``.
    """

    def __init__(self, *, progress: bool = True) -> None:
        """A session with no sources. With ``progress``, a query that runs
        longer than a second shows rows and bytes received so far (in Jupyter
        and in a terminal)."""

    @staticmethod
    def from_config(path: str | os.PathLike[str], *, progress: bool = True) -> SessionContext:
        """A session with every source of a ``lakefed.toml`` attached.

        Raises ConfigError naming the file, source and field when it is invalid."""

    def register_config(self, path: str | os.PathLike[str]) -> None:
        """Attaches every source of a ``lakefed.toml``."""

    def register_delta(
        self,
        name: str,
        location: str,
        *,
        version: int | None = None,
        timestamp: datetime.datetime | None = None,
        storage_options: Mapping[str, Any] | None = None,
    ) -> None:
        """Registers the Delta table at ``location`` (a local path, ``file://``,
        ``s3://``, ...) as table ``name``.

        Without ``version`` or ``timestamp`` the table tracks its latest
        version, re-read at the start of every query; either one pins it (a
        timestamp must be timezone-aware). ``storage_options`` keys:
        ``endpoint``, ``region``, ``access_key_id``, ``secret_access_key``,
        ``session_token``, ``force_path_style``, ``allow_http``,
        ``allow_unsafe_rename``, and ``options`` (a dict of object_store keys
        passed through); unset ones come from the ``AWS_*`` environment.

        Raises NotATableError, StorageError, DeltaError or InvalidArgumentError."""

    def register_delta_schema(
        self,
        name: str,
        location: str,
        *,
        storage_options: Mapping[str, Any] | None = None,
    ) -> None:
        """Registers every Delta table under ``location`` as schema ``name``
        (``name.<table>``), discovered when a query names it. ``CREATE TABLE
        name.t AS SELECT ...`` writes a new Delta table there."""

    def register_spark_connect(
        self,
        name: str,
        url: str,
        *,
        catalog: str | None = None,
        connect_timeout: float | datetime.timedelta | None = None,
        request_timeout: float | datetime.timedelta | None = None,
        max_retries: int | None = None,
        initial_backoff: float | datetime.timedelta | None = None,
        max_backoff: float | datetime.timedelta | None = None,
    ) -> None:
        """Attaches the Spark Connect server at ``url``
        (``sc://host:port/;token=...;user_id=...``) as catalog ``name``: its
        tables become ``name.<namespace>.<table>``. ``catalog`` picks the Spark
        catalog (default: the session's current one); durations are seconds
        or timedeltas. Nothing is sent until a query names the catalog."""

    def register_databricks_sql(
        self,
        name: str,
        *,
        warehouse_id: str,
        host: str | None = None,
        catalog: str | None = None,
        token: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        profile: str | None = None,
        chunk_concurrency: int | None = None,
        request_timeout: float | datetime.timedelta | None = None,
    ) -> None:
        """Attaches a Unity Catalog catalog of a Databricks workspace, queried
        on SQL warehouse ``warehouse_id``, as catalog ``name``: its tables
        become ``name.<schema>.<table>``. Settings not given (host, token or
        ``client_id``/``client_secret`` for OAuth M2M, profile) are resolved as
        the Databricks SDKs do: ``DATABRICKS_*`` environment variables, then
        ``~/.databrickscfg``. ``catalog`` defaults to the warehouse's current
        one."""

    def register_unity_catalog(
        self,
        name: str,
        *,
        url: str | None = None,
        catalog: str | None = None,
        compute: str | None = None,
        route: str = "auto",
        token: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        profile: str | None = None,
        storage_options: Mapping[str, Any] | None = None,
        cache_ttl: float | datetime.timedelta | None = None,
        request_timeout: float | datetime.timedelta | None = None,
    ) -> None:
        """Attaches a Unity Catalog server (a Databricks workspace or Unity
        Catalog OSS at ``url``): catalog ``catalog`` as catalog ``name``, or
        without it every catalog under its own name. Delta tables are read
        from storage with credentials the catalog vends (``storage_options``
        give the endpoint, region, ``allow_http``); views and tables with row
        filters or column masks are answered by ``compute``, the name of a
        Spark Connect or Databricks SQL catalog registered before.
        ``route`` is ``"auto"``, ``"direct"`` (storage only) or ``"compute"``.
        Authentication as for :meth:`register_databricks_sql`."""

    def sql(
        self,
        query: str,
        params: Sequence[Any] | Mapping[str, Any] | None = None,
    ) -> DataFrame:
        """Plans ``query`` and returns it, not yet run.

        ``params`` binds ``$1, $2, ...`` (a list or tuple) or ``$name`` (a
        dict) to Python values, typed as ``pyarrow.array([value])`` types them
        (a ``pyarrow.Scalar`` keeps its type). Statements such as ``SET``,
        ``CREATE TABLE ... AS`` or ``INSERT`` run at once.

        Raises PlanError for syntax errors and unknown tables or columns, and
        TypeError for values that cannot be bound."""

    def table(self, name: str) -> DataFrame:
        """The table or view ``name`` (``schema.table`` or ``catalog.schema.table``)."""

class DataFrame:
    """A planned query. Methods returning data run it each time they are
    called (a Delta table tracking its latest version shows new commits)."""

    @property
    def schema(self) -> pyarrow.Schema:
        """The result's schema, known without running the query."""

    def to_arrow(self) -> pyarrow.Table:
        """Runs the query; its whole result as a ``pyarrow.Table``."""

    def to_pandas(self) -> pandas.DataFrame:
        """Runs the query; its whole result as a ``pandas.DataFrame`` (needs pandas)."""

    def to_polars(self) -> polars.DataFrame:
        """Runs the query; its whole result as a ``polars.DataFrame`` (needs polars)."""

    def to_batches(self) -> RecordBatchStream:
        """Starts the query and streams its batches as they arrive."""

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        """The Arrow PyCapsule stream protocol: ``pyarrow.table(df)``,
        ``polars.DataFrame(df)`` and DuckDB read the result batch by batch,
        without copying it."""

    def count(self) -> int:
        """Runs the query and returns its number of rows."""

    def limit(self, n: int, offset: int = 0) -> DataFrame:
        """The first ``n`` rows after ``offset``; the limit reaches the sources as SQL's ``LIMIT``."""

    def explain(self, analyze: bool = False, verbose: bool = False) -> PlanText:
        """The logical and physical plans, with the SQL each remote scan sends.
        With ``analyze`` it runs the query and shows every operator's metrics
        (rows, bytes and time; for Spark scans also the wait and decode time)."""

    def remote_queries(self) -> list[tuple[str, str]]:
        """``(source, sql)`` for each Spark SQL statement the query sends."""

    def _repr_html_(self) -> str:
        """A notebook's view: first rows, schema, row count when known, and the SQL sent to each remote source."""

class RecordBatchStream(Iterator[pyarrow.RecordBatch]):
    """The batches of a running query, read as the engine produces them.

    Closing it (or leaving a ``with`` block) cancels the query, remote
    operations included; so does Ctrl-C while waiting for a batch, after
    which reading raises ExecutionError."""

    @property
    def schema(self) -> pyarrow.Schema:
        """The schema of every batch."""

    def __iter__(self) -> RecordBatchStream: ...
    def __next__(self) -> pyarrow.RecordBatch: ...
    def close(self) -> None:
        """Stops the query; further iteration ends at once."""

    def __enter__(self) -> RecordBatchStream: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

def finish_background_requests(timeout: float) -> None:
    """Waits at most ``timeout`` seconds for interrupts of cancelled remote
    operations to reach their servers (called at interpreter exit)."""
