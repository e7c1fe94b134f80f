"""The S3-compatible server that holds Unity Catalog tables: moto's S3, IAM
and STS in this process, on 127.0.0.1:`port`, with authentication on. Every
request must be signed by a key moto knows and is allowed by that key's IAM
policies: the emulator's own admin user (created in moto's first
unauthenticated actions, then nothing is let through unchecked) or the
credentials it vends (vending.py).

In front of moto sits a gate (WSGI middleware) that records every S3 request
(the storage log), refuses moto's own control API (`/moto-api/...`, which
could switch authentication off) and asks a guard whether a request of a
vended key is admitted (expired keys, listings outside the key's prefix).
Requests are path-style: `/<bucket>/<key>`."""

from __future__ import annotations

import collections
import json
import logging
import threading
import time
import urllib.parse
from typing import Callable, Protocol

import boto3
from moto import settings as moto_settings
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

BUCKET = "lakefed-uc"
REGION = "us-east-1"
ADMIN_USER = "lakefed-uc-admin"
# Requests moto lets through unchecked: the three that create the admin user
# (CreateUser, PutUserPolicy, CreateAccessKey).
_BOOTSTRAP_ACTIONS = 3
_LOG_LIMIT = 100_000
_ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
_ACCESS_DENIED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
    b"<Message>Access Denied</Message></Error>"
)


class Guard(Protocol):
    def admits(
        self, access_key_id: str, method: str, bucket: str | None, key: str | None, list_prefix: str | None
    ) -> bool:
        """Whether a signed S3 request may reach moto (which then checks
        the signature and the key's policies)."""


class StorageLog:
    """The S3 requests served: method, bucket, key, list prefix, access key
    id and HTTP status (the most recent 100,000)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: collections.deque[dict] = collections.deque(maxlen=_LOG_LIMIT)

    def add(self, entry: dict) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self, prefix: str | None = None) -> list[dict]:
        """Entries whose key (or, for a listing, list prefix) starts with `prefix`."""
        with self._lock:
            entries = list(self._entries)
        if prefix:
            entries = [e for e in entries if (e["key"] or e["list_prefix"] or "").startswith(prefix)]
        return entries

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class StorageServer:
    def __init__(self, port: int, log: StorageLog):
        self.port = port
        self.endpoint = f"http://127.0.0.1:{port}"
        self.log = log
        self._guard: Guard | None = None
        self._server = None
        self._admin_key: dict[str, str] = {}
        self._clients: dict[str, object] = {}
        self.admin_arn = ""

    def start(self, guard: Guard) -> None:
        """Serves on the port (raises if it is taken), creates the admin user
        and the bucket; from then on every request is authenticated."""
        self._guard = guard
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        moto_settings.INITIAL_NO_AUTH_ACTION_COUNT = _BOOTSTRAP_ACTIONS
        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(
            "127.0.0.1", self.port, self._gate(app), threaded=True, request_handler=MotoRequestHandler
        )
        threading.Thread(target=self._server.serve_forever, name="storage", daemon=True).start()
        bootstrap = boto3.client(
            "iam",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="bootstrap",
            aws_secret_access_key="bootstrap",
        )
        self.admin_arn = bootstrap.create_user(UserName=ADMIN_USER)["User"]["Arn"]
        bootstrap.put_user_policy(UserName=ADMIN_USER, PolicyName="all", PolicyDocument=json.dumps(_ALLOW_ALL))
        key = bootstrap.create_access_key(UserName=ADMIN_USER)["AccessKey"]
        self._admin_key = {"id": key["AccessKeyId"], "secret": key["SecretAccessKey"]}
        # Created here, once: making boto3 clients is not thread-safe.
        self._clients = {
            service: boto3.client(
                service,
                endpoint_url=self.endpoint,
                region_name=REGION,
                aws_access_key_id=key["AccessKeyId"],
                aws_secret_access_key=key["SecretAccessKey"],
            )
            for service in ("s3", "iam", "sts")
        }
        self.admin_client("s3").create_bucket(Bucket=BUCKET)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()

    def admin_client(self, service: str):
        """A boto3 client of moto's `service` (s3, iam, sts) signed by the admin."""
        return self._clients[service]

    def admin_storage_options(self) -> dict[str, str]:
        """`storage_options` for the deltalake package, as the admin."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": self._admin_key["id"],
            "AWS_SECRET_ACCESS_KEY": self._admin_key["secret"],
            "AWS_ALLOW_HTTP": "true",
            "AWS_VIRTUAL_HOSTED_STYLE_REQUEST": "false",
            "AWS_S3_ALLOW_UNSAFE_RENAME": "true",
        }

    def delete_prefix(self, bucket: str, prefix: str) -> None:
        """Deletes every object under `prefix/` (as the admin)."""
        s3 = self.admin_client("s3")
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/"):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": keys})

    def _gate(self, app: Callable) -> Callable:
        def gate(environ: dict, start_response: Callable):
            path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
            if path.startswith("/moto-api"):
                start_response("403 Forbidden", [("Content-Type", "application/xml")])
                return [_ACCESS_DENIED]
            query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
            access_key_id, service = _signer(environ.get("HTTP_AUTHORIZATION", ""), query)
            if service != "s3":
                return app(environ, start_response)
            bucket, _, key = path.lstrip("/").partition("/")
            entry = {
                "time": int(time.time() * 1000),
                "method": environ["REQUEST_METHOD"],
                "bucket": bucket or None,
                "key": key or None,
                "list_prefix": query.get("prefix", [None])[0] if bucket and not key else None,
                "access_key_id": access_key_id,
                "status": None,
            }

            def record(status: str, headers: list, exc_info=None):
                entry["status"] = int(status.split(" ", 1)[0])
                self.log.add(entry)
                return start_response(status, headers, exc_info)

            if access_key_id and not self._guard.admits(
                access_key_id, entry["method"], entry["bucket"], entry["key"], entry["list_prefix"]
            ):
                record("403 Forbidden", [("Content-Type", "application/xml")])
                return [_ACCESS_DENIED]
            return app(environ, record)

        return gate


def _signer(authorization: str, query: dict[str, list[str]]) -> tuple[str | None, str]:
    """(access key id, service) of a SigV4 request, from its Authorization
    header or presigned `X-Amz-Credential`; unsigned requests go to S3."""
    scope = authorization.partition("Credential=")[2].partition(",")[0]
    if not scope:
        scope = query.get("X-Amz-Credential", [""])[0]
    parts = scope.split("/")
    if len(parts) < 4:
        return None, "s3"
    return parts[0], parts[3]
