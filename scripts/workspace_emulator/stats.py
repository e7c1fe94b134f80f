"""Counters that tests read through `GET /emulator/stats`."""

from __future__ import annotations

import collections
import threading
from typing import Any, Callable


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: collections.Counter[str] = collections.Counter()
        self._counters: collections.Counter[str] = collections.Counter()

    def request(self, route: str) -> None:
        with self._lock:
            self._requests[route] += 1

    def add(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._counters[name] += amount

    def snapshot(self, gauges: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Counters so far plus the gauges (values computed now)."""
        with self._lock:
            counters = dict(self._counters)
            requests = dict(self._requests)
        return {"requests": requests, **counters, **gauges()}
