"""HTTP routes: discovery and OAuth, Statement Execution, Unity Catalog
(listing and temporary table credentials), external links (/files/) and the
test-only admin API (/emulator/)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import pathlib
import shutil
import tempfile
import threading

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.routing import Match

from .auth import Authenticator, OAuthError, authorization_server, host_metadata
from .catalog import Catalog
from .errors import ApiError
from .faults import Faults, fault_response
from .faults import parse as parse_faults
from .links import Links, Refusal
from .responses import chunk_response, statement_response
from .results import MEDIA_TYPES
from .settings import Config, Settings
from .statements import Statements
from .stats import Stats
from .gcs_storage import GcsStorage
from .storage import BUCKET, REGION, StorageLog, StorageServer
from .table_storage import AzureStore, S3Store, TableStores
from .table_credentials import DATABRICKS_PATH, OSS_PATH, TableCredentials
from .uc_tables import UcTables
from .validation import parse_execute_request
from .vending import Vending

SWEEP_EVERY_SECONDS = 5
# How long a request with on_wait_timeout=CANCEL waits for the cancel to land.
CANCEL_GRACE_SECONDS = 10


def create_app(config: Config) -> FastAPI:
    settings, stats, faults, links = Settings(), Stats(), Faults(), Links()
    authenticator = Authenticator(config, settings, stats)
    if config.spool_dir:
        pathlib.Path(config.spool_dir).mkdir(parents=True, exist_ok=True)
    spool = pathlib.Path(tempfile.mkdtemp(prefix="results-", dir=config.spool_dir))
    statements = Statements(config, settings, stats, spool)
    storage = StorageServer(config.storage_port, StorageLog())
    vending = Vending(storage, stats)
    azure = AzureStore(config.azure_port, config.azurite)
    gcs = GcsStorage(config.gcs_port)
    stores = TableStores(S3Store(storage, vending), azure, gcs)
    uc_tables = UcTables(config.spark_url, stores)
    catalog = Catalog(config.spark_url, settings, uc_tables)
    table_credentials = TableCredentials(uc_tables, stores, catalog, settings, stats)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        storage.start(vending)
        azure.start()
        gcs.start()
        stop = threading.Event()

        def sweep() -> None:
            while not stop.wait(SWEEP_EVERY_SECONDS):
                statements.sweep()
                try:
                    vending.revoke_expired()
                except Exception:
                    logging.getLogger(__name__).exception("revoking expired storage credentials failed")

        threading.Thread(target=sweep, name="sweeper", daemon=True).start()
        yield
        stop.set()
        statements.shutdown()
        storage.stop()
        azure.stop()
        gcs.stop()
        shutil.rmtree(spool, ignore_errors=True)

    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)

    @app.middleware("http")
    async def gateway(request: Request, call_next):
        path, method = request.url.path, request.method
        stats.request(f"{method} {_route_path(app, request)}")
        if not path.startswith("/emulator/") and (fault := faults.take(method, path)):
            stats.add("faults_injected")
            status, headers, media_type, body = fault_response(fault, path)
            return Response(body, status, headers, media_type=media_type)
        if path.startswith("/api/"):
            try:
                authenticator.check(request.headers.get("authorization"))
            except ApiError as exc:
                return _error(exc)
        response = await call_next(request)
        if path.startswith("/api/"):
            response.headers["X-Databricks-Org-Id"] = config.workspace_id
        return response

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError):
        return _error(exc)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError):
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return _error(ApiError(400, "INVALID_PARAMETER_VALUE", problems))

    @app.exception_handler(Exception)
    async def internal_error(_request: Request, exc: Exception):
        return _error(ApiError(500, "INTERNAL_ERROR", f"{type(exc).__name__}: {exc}".splitlines()[0]))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        if exc.status_code in (404, 405):
            return _error(
                ApiError(404, "ENDPOINT_NOT_FOUND", f"No API found for '{request.method} {request.url.path}'")
            )
        return _error(ApiError(exc.status_code, "BAD_REQUEST", str(exc.detail)))

    # --- discovery and OAuth M2M ---

    @app.get("/.well-known/databricks-config")
    def databricks_config(request: Request):
        return host_metadata(_base_url(request), config)

    @app.get("/oidc/.well-known/oauth-authorization-server")
    def oauth_authorization_server(request: Request):
        return authorization_server(_base_url(request))

    @app.post("/oidc/v1/token")
    async def token(request: Request):
        try:
            return authenticator.issue(request.headers.get("authorization"), await request.body())
        except OAuthError as exc:
            return JSONResponse(exc.body, exc.status)

    # --- Statement Execution API 2.0 ---

    @app.post("/api/2.0/sql/statements")
    async def execute_statement(request: Request):
        execute = parse_execute_request(await _json_body(request), config, settings.current())
        statement = statements.submit(execute)
        if not execute.wait_timeout_seconds:  # asynchronous mode: "returns directly with PENDING state"
            return {"statement_id": statement.id, "status": {"state": "PENDING"}}
        await asyncio.to_thread(statement.done.wait, execute.wait_timeout_seconds)
        if not statement.done.is_set() and execute.on_wait_timeout == "CANCEL":
            statements.cancel(statement)
            await asyncio.to_thread(statement.done.wait, CANCEL_GRACE_SECONDS)
        return statement_response(statement, links, settings.current(), _base_url(request))

    @app.get("/api/2.0/sql/statements/{statement_id}")
    def get_statement(statement_id: str, request: Request):
        return statement_response(statements.get(statement_id), links, settings.current(), _base_url(request))

    @app.get("/api/2.0/sql/statements/{statement_id}/result/chunks/{chunk_index}")
    def get_statement_result_chunk(statement_id: str, chunk_index: int, request: Request):
        statement = statements.get(statement_id)
        return chunk_response(statement, chunk_index, links, settings.current(), _base_url(request))

    @app.post("/api/2.0/sql/statements/{statement_id}/cancel")
    def cancel_execution(statement_id: str):
        statement = statements.get(statement_id)
        stats.add("cancels_received")
        statements.cancel(statement)
        return {}

    # --- Unity Catalog ---

    @app.get("/api/2.1/unity-catalog/catalogs")
    def list_catalogs(max_results: int | None = None, page_token: str | None = None):
        return catalog.list_catalogs(max_results, page_token)

    @app.get("/api/2.1/unity-catalog/catalogs/{name}")
    def get_catalog(name: str):
        return catalog.get_catalog(name)

    @app.get("/api/2.1/unity-catalog/schemas")
    def list_schemas(catalog_name: str, max_results: int | None = None, page_token: str | None = None):
        return catalog.list_schemas(catalog_name, max_results, page_token)

    @app.get("/api/2.1/unity-catalog/schemas/{full_name}")
    def get_schema(full_name: str):
        return catalog.get_schema(full_name)

    @app.get("/api/2.1/unity-catalog/tables")
    def list_tables(
        catalog_name: str,
        schema_name: str,
        max_results: int | None = None,
        page_token: str | None = None,
        omit_columns: bool = False,
    ):
        return catalog.list_tables(catalog_name, schema_name, max_results, page_token, omit_columns)

    @app.get("/api/2.1/unity-catalog/tables/{full_name}")
    def get_table(full_name: str):
        return catalog.get_table(full_name)

    @app.post(OSS_PATH)
    @app.post(DATABRICKS_PATH)
    async def generate_temporary_table_credentials(request: Request):
        body = await _json_body(request)
        return await asyncio.to_thread(table_credentials.generate, request.url.path, body)

    # --- external links (stand-ins for presigned cloud-storage URLs) ---

    @app.get("/files/{token}")
    def download(token: str, request: Request):
        link, refusal = links.check(token, request.headers)
        if refusal is None:
            try:
                result = statements.get(link.statement_id).result
            except ApiError:
                result = None
            path = result.chunks[link.chunk_index].path if result is not None else None
            if path is None or not path.exists():
                refusal = Refusal(404, "gone", "NoSuchKey", "The specified key does not exist.")
        if refusal is not None:
            stats.add(f"link_refused_{refusal.reason}")
            return Response(refusal.body(), refusal.status, media_type="application/xml")
        stats.add("chunk_downloads")
        stats.add("bytes_served", path.stat().st_size)
        return FileResponse(path, media_type=MEDIA_TYPES[result.format])

    # --- admin API for tests (not part of the Databricks API) ---

    def current_settings() -> dict:
        return {**dataclasses.asdict(settings.current()), "fail_next": faults.pending()}

    @app.get("/emulator/settings")
    def get_settings():
        return current_settings()

    @app.post("/emulator/settings")
    async def change_settings(request: Request):
        changes = await _json_body(request)
        if not isinstance(changes, dict):
            raise ApiError(400, "BAD_REQUEST", "settings must be a JSON object")
        new_faults = parse_faults(changes.pop("fail_next", []))
        settings.update(changes)
        faults.add(new_faults)
        return current_settings()

    @app.post("/emulator/reset")
    def reset_settings():
        settings.reset()
        faults.clear()
        return current_settings()

    @app.get("/emulator/stats")
    def get_stats():
        return stats.snapshot(statements.gauges)

    @app.get("/emulator/unity-catalog")
    def get_unity_catalog():
        return {
            "storage_endpoint": storage.endpoint,
            "storage_bucket": BUCKET,
            "storage_region": REGION,
            "azure_endpoint": azure.endpoint,
            "gcs_endpoint": gcs.endpoint,
            "tables": uc_tables.full_names(),
        }

    @app.post("/emulator/unity-catalog/tables")
    async def create_uc_table(request: Request):
        body = await _json_body(request)
        return await asyncio.to_thread(uc_tables.create, body)

    @app.post("/emulator/unity-catalog/tables/{full_name}/append")
    async def append_to_uc_table(full_name: str, request: Request):
        body = await _json_body(request)
        return await asyncio.to_thread(uc_tables.append, full_name, body)

    @app.get("/emulator/unity-catalog/tables/{full_name}/delta")
    async def read_uc_table_delta(full_name: str):
        return await asyncio.to_thread(uc_tables.delta_rows, full_name)

    @app.delete("/emulator/unity-catalog/tables/{full_name}")
    def delete_uc_table(full_name: str):
        uc_tables.delete(full_name)
        return {}

    @app.get("/emulator/storage-log")
    def get_storage_log(prefix: str | None = None):
        return {"requests": storage.log.entries(prefix)}

    @app.post("/emulator/storage-log/clear")
    def clear_storage_log():
        storage.log.clear()
        return {}

    return app


def _error(exc: ApiError) -> JSONResponse:
    return JSONResponse(exc.body(), exc.status)


async def _json_body(request: Request):
    try:
        return await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ApiError(400, "MALFORMED_REQUEST", "Could not parse the request body as JSON.") from None


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _route_path(app: FastAPI, request: Request) -> str:
    """The route template a request matches (`/api/2.0/sql/statements/{statement_id}`)."""
    for route in app.router.routes:
        match, _ = route.matches(request.scope)
        if match == Match.FULL:
            return route.path
    return request.url.path
