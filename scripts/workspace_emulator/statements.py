"""Statement execution: each statement runs in the background in a Spark
Connect session of its own, tagged so that a cancel interrupts its Spark
operations, and moves PENDING -> RUNNING -> SUCCEEDED | FAILED | CANCELED;
a SUCCEEDED result is CLOSED once it expires (result_ttl_seconds)."""

from __future__ import annotations

import concurrent.futures
import logging
import pathlib
import shutil
import threading
import time
import uuid

from pyspark.sql import types as T

from .errors import ApiError
from .results import InlineLimitExceeded, Limits, Result, ResultWriter
from .settings import Config, Settings
from .spark import StatementError, arrow_stream, bind_parameters, is_cancellation, new_session, statement_error
from .stats import Stats
from .validation import ExecuteRequest

# Statements running at once (more wait in PENDING, as on a busy warehouse).
MAX_RUNNING = 8
# Terminal statements are forgotten after this long (then GET answers 404).
FORGET_AFTER_SECONDS = 12 * 3600
# The byte_limit EXTERNAL_LINKS results get when the request sets none.
EXTERNAL_LINKS_BYTE_LIMIT = 100 * 1024**3
# How long a cancel keeps re-sending the interrupt while the statement runs.
INTERRUPT_FOR_SECONDS = 60

log = logging.getLogger(__name__)


class Statement:
    def __init__(self, statement_id: str, request: ExecuteRequest, directory: pathlib.Path):
        self.id = statement_id
        self.request = request
        self.directory = directory
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.state = "PENDING"
        self.error: StatementError | None = None
        self.result: Result | None = None
        self.finished_at: float | None = None
        self.result_expires_at: float | None = None
        self.cancel_requested = False
        self.session = None

    @property
    def tag(self) -> str:
        return f"lakefed-statement-{self.id}"


class Statements:
    def __init__(self, config: Config, settings: Settings, stats: Stats, spool: pathlib.Path):
        self._config = config
        self._settings = settings
        self._stats = stats
        self._spool = spool
        self._lock = threading.Lock()
        self._statements: dict[str, Statement] = {}
        self._executor = concurrent.futures.ThreadPoolExecutor(MAX_RUNNING, thread_name_prefix="statement")

    def submit(self, request: ExecuteRequest) -> Statement:
        statement_id = str(uuid.uuid4())
        statement = Statement(statement_id, request, self._spool / statement_id)
        with self._lock:
            self._statements[statement_id] = statement
        self._stats.add("statements_submitted")
        self._executor.submit(self._run, statement)
        return statement

    def get(self, statement_id: str) -> Statement:
        with self._lock:
            statement = self._statements.get(statement_id)
        if statement is None:
            raise ApiError(404, "NOT_FOUND", f"Statement {statement_id} does not exist.")
        self._expire(statement, time.time())
        return statement

    def cancel(self, statement: Statement) -> None:
        """Asks for the statement to stop; the state turns CANCELED once its
        Spark operations have ended (poll to see it)."""
        with statement.lock:
            if statement.state not in ("PENDING", "RUNNING") or statement.cancel_requested:
                return
            statement.cancel_requested = True
            pending = statement.state == "PENDING"
        if pending:
            self._finish(statement, "CANCELED")
            return
        threading.Thread(target=self._interrupt, args=(statement,), daemon=True).start()

    def gauges(self) -> dict[str, int]:
        with self._lock:
            states = [s.state for s in self._statements.values()]
        return {"running_statements": states.count("RUNNING"), "pending_statements": states.count("PENDING")}

    def sweep(self) -> None:
        """Closes expired results and forgets old terminal statements."""
        now = time.time()
        with self._lock:
            statements = list(self._statements.values())
        for statement in statements:
            self._expire(statement, now)
            if statement.finished_at is not None and now - statement.finished_at > FORGET_AFTER_SECONDS:
                with self._lock:
                    self._statements.pop(statement.id, None)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _expire(self, statement: Statement, now: float) -> None:
        with statement.lock:
            if statement.state != "SUCCEEDED" or now < statement.result_expires_at:
                return
            statement.state = "CLOSED"
            statement.result = None
        shutil.rmtree(statement.directory, ignore_errors=True)

    def _interrupt(self, statement: Statement) -> None:
        deadline = time.monotonic() + INTERRUPT_FOR_SECONDS
        while not statement.done.is_set() and time.monotonic() < deadline:
            session = statement.session
            if session is not None:
                try:
                    self._stats.add("spark_operations_interrupted", len(session.interruptTag(statement.tag)))
                except Exception:  # the session may be closing; the next round retries
                    pass
            statement.done.wait(0.5)

    def _run(self, statement: Statement) -> None:
        with statement.lock:
            if statement.cancel_requested:
                return
            statement.state = "RUNNING"
        session = None
        try:
            session = new_session(self._config.spark_url)
            session.addTag(statement.tag)
            statement.session = session
            result = self._execute(session, statement)
        except InlineLimitExceeded as exc:
            self._finish(statement, "FAILED", StatementError("BAD_REQUEST", str(exc), None))
        except Exception as exc:
            if statement.cancel_requested or is_cancellation(exc):
                self._finish(statement, "CANCELED")
            else:
                self._finish(statement, "FAILED", statement_error(exc))
        else:
            now = time.time()
            with statement.lock:
                statement.result = result
                statement.state = "SUCCEEDED"
                statement.finished_at = now
                statement.result_expires_at = now + self._settings.current().result_ttl_seconds
            statement.done.set()
        finally:
            statement.session = None
            if session is not None:
                try:
                    session.stop()
                except Exception:  # releasing a session Spark already dropped
                    pass

    def _execute(self, session, statement: Statement) -> Result:
        request = statement.request
        if statement.cancel_requested:
            raise InterruptedError("canceled")
        if request.catalog:
            session.catalog.setCurrentCatalog(request.catalog)
        if request.schema:
            session.catalog.setCurrentDatabase(request.schema)
        args = bind_parameters(session, request.parameters)
        df = session.sql(request.statement, args=args or None)
        if request.row_limit is not None:
            df = df.limit(request.row_limit + 1)  # one more row tells whether the limit truncated
        tunables = self._settings.current()
        byte_limit = request.byte_limit
        if byte_limit is None and request.disposition == "EXTERNAL_LINKS":
            byte_limit = EXTERNAL_LINKS_BYTE_LIMIT
        limits = Limits(
            row_limit=request.row_limit,
            byte_limit=byte_limit,
            chunk_rows=tunables.chunk_rows,
            chunk_bytes=max(1, tunables.chunk_bytes),
            inline_byte_limit=tunables.inline_byte_limit if request.disposition == "INLINE" else None,
            complex_as_strings=tunables.arrow_complex_as_strings,
        )
        statement.directory.mkdir(parents=True)
        writer = ResultWriter(statement.directory, request.format, request.disposition, limits)
        stream = arrow_stream(df)
        try:
            for item in stream:
                if statement.cancel_requested:
                    raise InterruptedError("canceled")
                if isinstance(item, T.StructType):
                    writer.set_schema(item)
                    continue
                if not writer.has_schema:
                    writer.set_schema(df.schema)
                if not writer.add(item):
                    session.interruptTag(statement.tag)  # the rest of the result is not wanted
                    break
        finally:
            stream.close()
        if not writer.has_schema:
            writer.set_schema(df.schema)
        return writer.finish()

    def _finish(self, statement: Statement, state: str, error: StatementError | None = None) -> None:
        outcome = f": {error.error_code} {error.message.splitlines()[0]}" if error else ""
        log.info("statement %s %s%s", statement.id, state, outcome)
        with statement.lock:
            statement.state = state
            statement.error = error
            statement.finished_at = time.time()
        shutil.rmtree(statement.directory, ignore_errors=True)
        statement.done.set()
