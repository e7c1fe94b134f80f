"""Short-lived, scoped storage credentials for a table's location, vended
from the storage server's STS.

Each vending creates an IAM role of its own whose inline policy allows only
the location's prefix (READ: s3:GetObject on `<prefix>/*` and s3:ListBucket
with `s3:prefix` under it; READ_WRITE: also s3:PutObject and
s3:DeleteObject), and answers the credentials of an AssumeRole of it. moto
checks the policy's actions and resources but neither expires STS
credentials nor evaluates the ListBucket condition, so this module does both
as the storage server's guard: a listing outside the prefix and any request
of an expired key are refused (403 AccessDenied), and `revoke_expired`
(run by the sweeper) deletes the role policy of expired credentials, after
which moto refuses them by itself."""

from __future__ import annotations

import dataclasses
import itertools
import json
import threading
import time

from .stats import Stats
from .storage import StorageServer

_POLICY_NAME = "table-access"
_READ = ["s3:GetObject"]
_WRITE = ["s3:PutObject", "s3:DeleteObject"]


@dataclasses.dataclass
class Grant:
    access_key_id: str
    role_name: str
    bucket: str
    prefix: str
    expires_at: float  # epoch seconds
    revoked: bool = False


class Vending:
    def __init__(self, storage: StorageServer, stats: Stats):
        self._storage = storage
        self._stats = stats
        self._lock = threading.Lock()
        self._grants: dict[str, Grant] = {}  # by access key id
        self._serial = itertools.count(1)

    def vend(self, url: str, operation: str, ttl_seconds: int) -> tuple[dict[str, str], int]:
        """(aws_temp_credentials, expiration_time in epoch ms) for the
        location `s3://bucket/prefix`; operation READ or READ_WRITE."""
        bucket, prefix = split_s3_url(url)
        role_name = f"lakefed-uc-vend-{next(self._serial)}"
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": self._storage.admin_arn}, "Action": "sts:AssumeRole"}
            ],
        }
        iam = self._storage.admin_client("iam")
        role = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]
        policy = _policy(bucket, prefix, _READ + (_WRITE if operation == "READ_WRITE" else []))
        iam.put_role_policy(RoleName=role_name, PolicyName=_POLICY_NAME, PolicyDocument=json.dumps(policy))
        assumed = self._storage.admin_client("sts").assume_role(
            RoleArn=role["Arn"], RoleSessionName="lakefed-uc", DurationSeconds=max(900, ttl_seconds)
        )["Credentials"]
        expires_at = time.time() + ttl_seconds
        with self._lock:
            self._grants[assumed["AccessKeyId"]] = Grant(assumed["AccessKeyId"], role_name, bucket, prefix, expires_at)
        credentials = {
            "access_key_id": assumed["AccessKeyId"],
            "secret_access_key": assumed["SecretAccessKey"],
            "session_token": assumed["SessionToken"],
        }
        return credentials, int(expires_at * 1000)

    def admits(
        self, access_key_id: str, method: str, bucket: str | None, key: str | None, list_prefix: str | None
    ) -> bool:
        """The storage server's guard: keys not vended here are moto's to
        judge; vended ones are refused once expired, and listings (GET on a
        bucket) only pass with a prefix under the grant's."""
        with self._lock:
            grant = self._grants.get(access_key_id)
        if grant is None:
            return True
        if time.time() >= grant.expires_at:
            return False
        if method == "GET" and bucket is not None and key is None:
            return bucket == grant.bucket and (list_prefix or "").startswith(grant.prefix + "/")
        return True

    def revoke_expired(self) -> None:
        """Deletes the role policy of every expired, not yet revoked grant."""
        now = time.time()
        with self._lock:
            expired = [g for g in self._grants.values() if not g.revoked and g.expires_at <= now]
            for grant in expired:
                grant.revoked = True
        for grant in expired:
            self._storage.admin_client("iam").delete_role_policy(RoleName=grant.role_name, PolicyName=_POLICY_NAME)
            self._stats.add("credentials_revoked")


def split_s3_url(url: str) -> tuple[str, str]:
    """(bucket, key prefix without slashes at its ends) of `s3://bucket/prefix`."""
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    return bucket, prefix.strip("/")


def _policy(bucket: str, prefix: str, object_actions: list[str]) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": object_actions, "Resource": f"arn:aws:s3:::{bucket}/{prefix}/*"},
            {
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": f"arn:aws:s3:::{bucket}",
                "Condition": {"StringLike": {"s3:prefix": [f"{prefix}/*"]}},
            },
        ],
    }
