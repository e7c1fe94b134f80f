"""A storage server the emulator runs as a child process (Azurite,
fake-gcs-server): started, waited for until it answers, and stopped with the
emulator."""

from __future__ import annotations

import os
import subprocess
import time

import requests

_START_TIMEOUT_SECONDS = 30


class ChildServer:
    def __init__(self, name: str, argv: list[str], probe_url: str, env: dict[str, str] | None = None):
        self._name = name
        self._argv = argv
        self._probe_url = probe_url
        self._env = env or {}
        self._process: subprocess.Popen | None = None

    def start(self) -> None:
        """Starts the server and returns once it answers `probe_url` (any
        status); raises if it exits or stays silent for 30 s."""
        self._process = subprocess.Popen(
            self._argv, env={**os.environ, **self._env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + _START_TIMEOUT_SECONDS
        while True:
            if self._process.poll() is not None:
                stderr = self._process.stderr.read().decode(errors="replace")
                raise RuntimeError(f"{self._name} exited: {stderr}")
            try:
                requests.get(self._probe_url, timeout=1)
                return
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self._name} did not answer at {self._probe_url}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
