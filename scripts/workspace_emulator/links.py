"""External links: short-lived URLs under /files/ that stand in for presigned
cloud-storage URLs. Each one names a chunk of one statement's result, expires,
and is refused with an S3-style XML error when used like an API call."""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
import threading
import time
from typing import Mapping

# Expired links are remembered this long, so they are told apart from
# unknown ones (403 "Request has expired" rather than 403 "Access Denied").
_FORGET_AFTER_SECONDS = 3600


@dataclasses.dataclass(frozen=True)
class Link:
    statement_id: str
    chunk_index: int
    expires_at: float
    ttl_seconds: int
    required_headers: dict[str, str]


class Links:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._links: dict[str, Link] = {}

    def mint(self, statement_id: str, chunk_index: int, ttl_seconds: int, headers: dict[str, str]) -> tuple[str, Link]:
        token = secrets.token_urlsafe(24)
        now = time.time()
        link = Link(statement_id, chunk_index, now + ttl_seconds, ttl_seconds, dict(headers))
        with self._lock:
            self._links = {t: kept for t, kept in self._links.items() if kept.expires_at + _FORGET_AFTER_SECONDS > now}
            self._links[token] = link
        return token, link

    def resolve(self, token: str) -> Link | None:
        with self._lock:
            return self._links.get(token)

    def check(self, token: str, headers: Mapping[str, str]) -> tuple[Link | None, Refusal | None]:
        """The link a download names, or why cloud storage would refuse it."""
        if "authorization" in headers:
            return None, Refusal(
                400,
                "authorization",
                "InvalidArgument",
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query "
                "string parameter or the Authorization header should be specified",
                {"ArgumentName": "Authorization"},
            )
        link = self.resolve(token)
        if link is None:
            return None, Refusal(403, "unknown", "AccessDenied", "Access Denied")
        now = time.time()
        if now >= link.expires_at:
            extra = {
                "X-Amz-Expires": str(link.ttl_seconds),
                "Expires": iso_time(link.expires_at),
                "ServerTime": iso_time(now),
            }
            return None, Refusal(403, "expired", "AccessDenied", "Request has expired", extra)
        for name, value in link.required_headers.items():
            if headers.get(name) != value:
                return None, Refusal(400, "headers", "InvalidRequest", f"The request must carry header {name}")
        return link, None


@dataclasses.dataclass(frozen=True)
class Refusal:
    """An S3-style refusal of a download; `reason` names the stats counter."""

    status: int
    reason: str
    code: str
    message: str
    extra: dict[str, str] = dataclasses.field(default_factory=dict)

    def body(self) -> bytes:
        return storage_error(self.code, self.message, **self.extra)


def iso_time(epoch_seconds: float) -> str:
    """`2024-01-02T03:04:05.678Z`, the form `expiration` takes."""
    moment = dt.datetime.fromtimestamp(epoch_seconds, dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def storage_error(code: str, message: str, **extra: str) -> bytes:
    """An S3-style XML error document."""
    fields = "".join(f"<{k}>{_xml(v)}</{k}>" for k, v in {"Code": code, "Message": message, **extra}.items())
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<Error>{fields}</Error>'.encode()


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
