"""Rows and bytes received so far, shown while a long query runs: an updating
output in Jupyter, a line on stderr in a terminal, nothing otherwise."""

from __future__ import annotations

import sys
from typing import Protocol

# Queries that finish sooner show nothing.
SHOW_AFTER_SECONDS = 1.0
# The display refreshes at most this often.
REFRESH_SECONDS = 0.25


class Reporter(Protocol):
    """What the engine calls while it collects a result."""

    def update(self, rows: int, nbytes: int, seconds: float) -> None: ...
    def close(self) -> None: ...


def reporter() -> Reporter | None:
    """The progress display for where this process runs, or None."""
    if _in_notebook():
        return NotebookProgress()
    if sys.stderr is not None and sys.stderr.isatty():
        return TerminalProgress(sys.stderr)
    return None


def describe(rows: int, nbytes: int, seconds: float) -> str:
    """``12,345 rows, 3.2 MB, 4.1 s``."""
    size = float(nbytes)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            break
        size /= 1000
    amount = f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
    return f"{rows:,} row{'' if rows == 1 else 's'}, {amount}, {seconds:.1f} s"


class _Throttled:
    def __init__(self) -> None:
        self._shown_at: float | None = None

    def update(self, rows: int, nbytes: int, seconds: float) -> None:
        if seconds < SHOW_AFTER_SECONDS:
            return
        if self._shown_at is not None and seconds - self._shown_at < REFRESH_SECONDS:
            return
        self._shown_at = seconds
        self._show(describe(rows, nbytes, seconds))

    @property
    def shown(self) -> bool:
        return self._shown_at is not None

    def _show(self, text: str) -> None:
        raise NotImplementedError


class TerminalProgress(_Throttled):
    """One line on a terminal, rewritten in place and cleared at the end."""

    def __init__(self, stream) -> None:
        super().__init__()
        self._stream = stream
        self._width = 0

    def _show(self, text: str) -> None:
        line = f"lakefed: {text}"
        self._stream.write("\r" + line.ljust(self._width))
        self._stream.flush()
        self._width = len(line)

    def close(self) -> None:
        if self.shown:
            self._stream.write("\r" + " " * self._width + "\r")
            self._stream.flush()


class NotebookProgress(_Throttled):
    """An output of the running cell, updated in place and emptied at the end."""

    def __init__(self) -> None:
        super().__init__()
        self._handle = None

    def _show(self, text: str) -> None:
        from IPython.display import HTML, display

        content = HTML(f"<small>lakefed: {text}</small>")
        if self._handle is None:
            self._handle = display(content, display_id=True)
        else:
            self._handle.update(content)

    def close(self) -> None:
        if self._handle is not None:
            from IPython.display import HTML

            self._handle.update(HTML(""))


def _in_notebook() -> bool:
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and shell.__class__.__name__ == "ZMQInteractiveShell"
