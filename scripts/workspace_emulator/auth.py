"""Authentication: the one personal access token, OAuth M2M (client
credentials) for the one service principal, and the discovery documents the
SDKs read before they authenticate."""

from __future__ import annotations

import base64
import binascii
import secrets
import threading
import time
import urllib.parse

from .errors import ApiError
from .settings import Config, Settings
from .stats import Stats

SCOPES = {"all-apis", "sql", "offline_access"}


class OAuthError(Exception):
    """An RFC 6749 token-endpoint error: `{"error", "error_description"}`."""

    def __init__(self, status: int, error: str, description: str):
        super().__init__(description)
        self.status = status
        self.body = {"error": error, "error_description": description}


class Authenticator:
    def __init__(self, config: Config, settings: Settings, stats: Stats):
        self._config = config
        self._settings = settings
        self._stats = stats
        self._lock = threading.Lock()
        self._tokens: dict[str, float] = {}  # access token -> expiry (epoch seconds)

    def check(self, authorization: str | None) -> None:
        """Raises the 401 a workspace answers unless the header carries a
        valid bearer token."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ApiError(
                401, "UNAUTHENTICATED", "Credential was not sent or was of an unsupported type for this API."
            )
        if secrets.compare_digest(token, self._config.token):
            return
        with self._lock:
            expiry = self._tokens.get(token)
        if expiry is None:
            self._stats.add("auth_refused")
            raise ApiError(401, "UNAUTHENTICATED", "Invalid access token.")
        if expiry <= time.time():
            self._stats.add("auth_refused")
            raise ApiError(401, "UNAUTHENTICATED", "Invalid access token: the token has expired.")

    def issue(self, authorization: str | None, form_body: bytes) -> dict:
        """`POST /oidc/v1/token`: client credentials from HTTP Basic or from
        the form body (client_secret_basic / client_secret_post)."""
        form = {k: v[0] for k, v in urllib.parse.parse_qs(form_body.decode("utf-8", "replace")).items()}
        client_id, client_secret = _basic_credentials(authorization) or (
            form.get("client_id"),
            form.get("client_secret"),
        )
        if form.get("grant_type") != "client_credentials":
            raise OAuthError(400, "unsupported_grant_type", "grant_type must be client_credentials")
        if not (
            client_id == self._config.client_id
            and client_secret is not None
            and secrets.compare_digest(client_secret, self._config.client_secret)
        ):
            raise OAuthError(401, "invalid_client", "Client authentication failed")
        scope = form.get("scope") or "all-apis"
        if not set(scope.split()) <= SCOPES:
            raise OAuthError(400, "invalid_scope", f"unsupported scope: {scope}")
        ttl = self._settings.current().token_ttl_seconds
        token = "lakefed-oauth-" + secrets.token_urlsafe(32)
        with self._lock:
            now = time.time()
            self._tokens = {t: e for t, e in self._tokens.items() if e > now}
            self._tokens[token] = now + ttl
        self._stats.add("oauth_tokens_issued")
        return {"access_token": token, "token_type": "Bearer", "expires_in": ttl, "scope": scope}


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise OAuthError(401, "invalid_client", "Malformed HTTP Basic credentials") from None
    if not sep:
        raise OAuthError(401, "invalid_client", "Malformed HTTP Basic credentials")
    return urllib.parse.unquote(user), urllib.parse.unquote(password)


def host_metadata(base_url: str, config: Config) -> dict:
    """`GET /.well-known/databricks-config`, as the SDK's HostMetadata reads it."""
    return {
        "oidc_endpoint": f"{base_url}/oidc",
        "workspace_id": config.workspace_id,
        "account_id": config.account_id,
        "cloud": "AWS",
    }


def authorization_server(base_url: str) -> dict:
    """`GET /oidc/.well-known/oauth-authorization-server` (RFC 8414)."""
    oidc = f"{base_url}/oidc"
    return {
        "issuer": oidc,
        "authorization_endpoint": f"{oidc}/v1/authorize",
        "token_endpoint": f"{oidc}/v1/token",
        "jwks_uri": f"{oidc}/jwks.json",
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": sorted(SCOPES),
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
    }
