"""REST errors in the Databricks shape: `{"error_code": ..., "message": ...}`."""

from __future__ import annotations


class ApiError(Exception):
    """An error answered with `status` and a Databricks error body."""

    def __init__(self, status: int, error_code: str, message: str):
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message

    def body(self) -> dict[str, str]:
        return {"error_code": self.error_code, "message": self.message}


# The error code a status answers with when nothing more specific applies
# (the codes the SDK maps back to the same status).
STATUS_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "RESOURCE_CONFLICT",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL_ERROR",
    501: "NOT_IMPLEMENTED",
    503: "TEMPORARILY_UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def code_for_status(status: int) -> str:
    return STATUS_CODES.get(status, "UNKNOWN")
