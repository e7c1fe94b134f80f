"""Settings: the fixed ones from the environment, and the ones tests change at
run time through `POST /emulator/settings`."""

from __future__ import annotations

import dataclasses
import os
import threading
from typing import Any

from .errors import ApiError

MIB = 1024 * 1024
# The values a string setting may take.
CHOICES = {"uc_credential_paths": ("both", "oss", "databricks")}


@dataclasses.dataclass(frozen=True)
class Config:
    """What the emulator is started with (environment variables)."""

    spark_url: str
    token: str
    client_id: str
    client_secret: str
    warehouse_id: str
    spool_dir: str | None
    storage_port: int = 9755
    azure_port: int = 9756
    gcs_port: int = 9757  # and the next port, behind it
    azurite: str = "azurite-blob"
    workspace_id: str = "1234567890123456"
    account_id: str = "00000000-0000-4000-8000-00000000a11d"

    @classmethod
    def from_env(cls) -> "Config":
        env = os.environ.get
        return cls(
            spark_url=env("LAKEFED_WORKSPACE_SPARK_URL", "sc://127.0.0.1:15002"),
            token=env("LAKEFED_WORKSPACE_TOKEN", "dapi-lakefed-test-token"),
            client_id=env("LAKEFED_WORKSPACE_CLIENT_ID", "lakefed-sp"),
            client_secret=env("LAKEFED_WORKSPACE_CLIENT_SECRET", "lakefed-sp-secret"),
            warehouse_id=env("LAKEFED_WORKSPACE_WAREHOUSE_ID", "lakefed-wh"),
            spool_dir=env("LAKEFED_WORKSPACE_SPOOL_DIR"),
            storage_port=int(env("LAKEFED_WORKSPACE_S3_PORT", "9755")),
            azure_port=int(env("LAKEFED_WORKSPACE_AZURE_PORT", "9756")),
            gcs_port=int(env("LAKEFED_WORKSPACE_GCS_PORT", "9757")),
            azurite=env("LAKEFED_WORKSPACE_AZURITE", "azurite-blob"),
        )


@dataclasses.dataclass
class Tunables:
    """Run-time settings; `POST /emulator/settings` changes any of them."""

    token_ttl_seconds: int = 3600
    link_ttl_seconds: int = 900
    result_ttl_seconds: int = 3600
    # A chunk closes when it holds chunk_rows rows (0: no row cap) or about
    # chunk_bytes bytes of Arrow data.
    chunk_rows: int = 0
    chunk_bytes: int = 4 * MIB
    inline_byte_limit: int = 25 * MIB
    uc_page_size: int = 50
    external_links_refused: bool = False
    inline_arrow_required: bool = False
    # ARROW_STREAM results carry ARRAY, MAP, STRUCT and interval columns as
    # strings (their JSON_ARRAY text), as warehouses without native Arrow
    # complex types do; the manifest still names the real types.
    arrow_complex_as_strings: bool = False
    # Headers every external link requires, announced in `http_headers`.
    link_http_headers: dict[str, str] = dataclasses.field(default_factory=dict)
    # How long vended storage credentials live (`expiration_time`).
    uc_credential_ttl_seconds: int = 3600
    # Which temporary-table-credentials paths answer: "both", "oss" (only
    # /api/2.1/...) or "databricks" (only /api/2.0/...).
    uc_credential_paths: str = "both"


class Settings:
    """Thread-safe holder of the current Tunables."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values = Tunables()

    def current(self) -> Tunables:
        with self._lock:
            return dataclasses.replace(self._values)

    def update(self, changes: dict[str, Any]) -> Tunables:
        fields = {f.name: f for f in dataclasses.fields(Tunables)}
        with self._lock:
            values = dataclasses.replace(self._values)
            for name, value in changes.items():
                if name not in fields:
                    raise ApiError(400, "BAD_REQUEST", f"unknown setting {name!r}")
                setattr(values, name, _checked(name, fields[name].type, value))
            self._values = values
            return dataclasses.replace(values)

    def reset(self) -> None:
        with self._lock:
            self._values = Tunables()


def _checked(name: str, annotation: str, value: Any) -> Any:
    if annotation == "int" and isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if annotation == "bool" and isinstance(value, bool):
        return value
    if annotation == "str" and value in CHOICES[name]:
        return value
    if (
        annotation.startswith("dict")
        and isinstance(value, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
    ):
        return dict(value)
    expected = f"one of {', '.join(CHOICES[name])}" if annotation == "str" else f"of type {annotation}"
    raise ApiError(400, "BAD_REQUEST", f"setting {name!r} must be {expected}, got {value!r}")
