"""Where Unity Catalog tables are stored, by cloud: `s3` (the S3 server,
storage.py), `azure` (Azurite, azure_storage.py) and `gcs`
(fake-gcs-server, gcs_storage.py). Each store makes a new table's location,
writes and deletes its objects as the admin, and vends credentials for it
in the field of its cloud (`aws_temp_credentials`,
`azure_user_delegation_sas`, `gcp_oauth_token`)."""

from __future__ import annotations

from typing import Protocol

import deltalake
import pyarrow as pa

from .azure_storage import AzureStorage
from .gcs_storage import GcsStorage
from .storage import BUCKET, StorageServer
from .vending import Vending, split_s3_url

CLOUDS = ("s3", "azure", "gcs")


class TableStore(Protocol):
    def owns(self, location: str) -> bool:
        """Whether the location is on this store (and written by the admin)."""

    def admin_storage_options(self) -> dict[str, str]:
        """`storage_options` for the deltalake package, as the admin."""

    def prepare(self, location: str) -> None:
        """Makes the location writable (its container, if any)."""

    def put(self, location: str, name: str, body: bytes) -> None:
        """Writes the object `name` (relative to the location)."""

    def names(self, location: str) -> list[str]:
        """The objects under the location, relative to it."""

    def delete_all(self, location: str) -> None:
        """Deletes every object under the location."""

    def write_delta(self, location: str, rows: pa.Table, mode: str, partitions: list[str]) -> None:
        """Writes `rows` as a Delta commit (deltalake's `mode`)."""

    def vend(self, location: str, operation: str, ttl_seconds: int) -> tuple[dict, int]:
        """(the credentials field of the answer, expiration_time in epoch ms)."""


class S3Store:
    """Tables on the S3 server, in bucket `lakefed-uc`."""

    def __init__(self, storage: StorageServer, vending: Vending):
        self._storage = storage
        self._vending = vending

    @staticmethod
    def owns(location: str) -> bool:
        return location.startswith("s3://") and split_s3_url(location)[0] == BUCKET

    def admin_storage_options(self) -> dict[str, str]:
        return self._storage.admin_storage_options()

    def prepare(self, location: str) -> None:
        pass

    def put(self, location: str, name: str, body: bytes) -> None:
        bucket, prefix = split_s3_url(location)
        self._storage.admin_client("s3").put_object(Bucket=bucket, Key=f"{prefix}/{name}", Body=body)

    def names(self, location: str) -> list[str]:
        bucket, prefix = split_s3_url(location)
        pages = self._storage.admin_client("s3").get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix + "/"
        )
        return [o["Key"].removeprefix(prefix + "/") for page in pages for o in page.get("Contents", [])]

    def delete_all(self, location: str) -> None:
        self._storage.delete_prefix(*split_s3_url(location))

    def write_delta(self, location: str, rows: pa.Table, mode: str, partitions: list[str]) -> None:
        write_delta_directly(location, rows, mode, partitions, self.admin_storage_options())

    def vend(self, location: str, operation: str, ttl_seconds: int) -> tuple[dict, int]:
        credentials, expiration_time = self._vending.vend(location, operation, ttl_seconds)
        return {"aws_temp_credentials": credentials}, expiration_time


class AzureStore(AzureStorage):
    """Tables on Azurite, a container each."""

    def write_delta(self, location: str, rows: pa.Table, mode: str, partitions: list[str]) -> None:
        write_delta_directly(location, rows, mode, partitions, self.admin_storage_options())


class TableStores:
    def __init__(self, s3: S3Store, azure: AzureStore, gcs: GcsStorage):
        self._stores: dict[str, TableStore] = {"s3": s3, "azure": azure, "gcs": gcs}

    def new_location(self, cloud: str, table_id: str, path: str) -> str:
        """Where a new table on `cloud` is stored; `path` is catalog/schema/table."""
        if cloud == "azure":
            return AzureStorage.location(table_id, path)
        if cloud == "gcs":
            return GcsStorage.location(path)
        return f"s3://{BUCKET}/{path}"

    def vending_for(self, location: str) -> TableStore:
        """The store that vends credentials for the location: the one of its
        cloud, also for a location it does not hold (an S3 bucket that does
        not exist: the credentials then find nothing)."""
        if location.startswith("abfss://"):
            return self._stores["azure"]
        if location.startswith("gs://"):
            return self._stores["gcs"]
        return self._stores["s3"]

    def of(self, location: str) -> TableStore | None:
        """The store the location is on; None for one outside them all."""
        return next((store for store in self._stores.values() if store.owns(location)), None)


def write_delta_directly(
    location: str, rows: pa.Table, mode: str, partitions: list[str], storage_options: dict[str, str]
) -> None:
    deltalake.write_deltalake(
        location, rows, mode=mode, partition_by=partitions or None, storage_options=storage_options
    )
