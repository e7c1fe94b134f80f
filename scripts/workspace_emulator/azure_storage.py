"""The Azure Blob storage of Unity Catalog tables on Azure: Azurite (the
Azure Storage emulator, npm package `azurite`) in a child process on
127.0.0.1:`port`, with one storage account of the emulator's own
(`lakefeduc`, a key made at start, never Azurite's well-known one), its blob
service at `http://127.0.0.1:<port>/lakefeduc`, in memory.

Each table gets a container of its own (`uc-<table_id>`), so that the SAS
vended for it (a service SAS of the container, signed with the account
key: the fields a client sees are a user delegation SAS's) reaches that
table alone. Azurite checks every request's signature, SAS permissions and
expiry (`se`), so only the admin and vended SAS tokens can read."""

from __future__ import annotations

import base64
import datetime
import os
import time
import urllib.parse

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobServiceClient, ContainerSasPermissions, generate_container_sas

from .child_server import ChildServer

ACCOUNT = "lakefeduc"
_DFS_HOST = f"{ACCOUNT}.dfs.core.windows.net"
_READ = {"read": True, "list": True}
_WRITE = {"write": True, "add": True, "create": True, "delete": True}
# Azurite keeps blobs in memory up to this many MB.
_MEMORY_LIMIT_MB = 1024


class AzureStorage:
    def __init__(self, port: int, azurite: str):
        self.port = port
        self.endpoint = f"http://127.0.0.1:{port}/{ACCOUNT}"
        self._azurite = azurite
        self._key = base64.b64encode(os.urandom(64)).decode()
        self._server: ChildServer | None = None
        self._service: BlobServiceClient | None = None

    def start(self) -> None:
        """Starts Azurite."""
        # Any answer (403 for this unsigned listing) means it serves.
        self._server = ChildServer(
            "Azurite",
            [
                self._azurite,
                "--blobHost", "127.0.0.1",
                "--blobPort", str(self.port),
                "--inMemoryPersistence",
                "--extentMemoryLimit", str(_MEMORY_LIMIT_MB),
                "--skipApiVersionCheck",
                "--disableTelemetry",
                "--silent",
            ],
            f"{self.endpoint}?comp=list",
            env={"AZURITE_ACCOUNTS": f"{ACCOUNT}:{self._key}"},
        )
        self._server.start()
        self._service = BlobServiceClient(
            account_url=self.endpoint, credential={"account_name": ACCOUNT, "account_key": self._key}
        )

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()

    @staticmethod
    def location(table_id: str, path: str) -> str:
        """The location of a new table: its own container, `path` in it."""
        return f"abfss://uc-{table_id}@{_DFS_HOST}/{path}"

    @staticmethod
    def owns(location: str) -> bool:
        return location.startswith("abfss://") and urllib.parse.urlsplit(location).hostname == _DFS_HOST

    def admin_storage_options(self) -> dict[str, str]:
        """`storage_options` for the deltalake package, as the account."""
        return {
            "azure_storage_account_name": ACCOUNT,
            "azure_storage_account_key": self._key,
            "azure_storage_endpoint": self.endpoint,
            "allow_http": "true",
        }

    def prepare(self, location: str) -> None:
        """Creates the location's container."""
        try:
            self._service.create_container(_split(location)[0])
        except ResourceExistsError:
            pass

    def put(self, location: str, name: str, body: bytes) -> None:
        container, prefix = _split(location)
        self._service.get_blob_client(container, f"{prefix}/{name}").upload_blob(body, overwrite=True)

    def names(self, location: str) -> list[str]:
        """The names of the objects under the location, relative to it."""
        container, prefix = _split(location)
        blobs = self._service.get_container_client(container).list_blobs(name_starts_with=prefix + "/")
        return [b.name.removeprefix(prefix + "/") for b in blobs]

    def delete_all(self, location: str) -> None:
        """Deletes the location's container."""
        try:
            self._service.delete_container(_split(location)[0])
        except ResourceNotFoundError:
            pass

    def vend(self, location: str, operation: str, ttl_seconds: int) -> tuple[dict, int]:
        """({"azure_user_delegation_sas": {"sas_token"}}, expiration_time in
        epoch ms) for the location's container; operation READ or READ_WRITE."""
        container, _ = _split(location)
        permissions = ContainerSasPermissions(**_READ, **(_WRITE if operation == "READ_WRITE" else {}))
        # SAS times have whole seconds: the token expires at expiration_time.
        expires_at = int(time.time()) + ttl_seconds
        sas = generate_container_sas(
            ACCOUNT,
            container,
            account_key=self._key,
            permission=permissions,
            expiry=datetime.datetime.fromtimestamp(expires_at, datetime.timezone.utc),
        )
        return {"azure_user_delegation_sas": {"sas_token": sas}}, expires_at * 1000


def _split(location: str) -> tuple[str, str]:
    """(container, path without slashes at its ends) of an abfss:// location."""
    parts = urllib.parse.urlsplit(location)
    return parts.username, parts.path.strip("/")
