"""``ApiException`` and connection failures, translated once into jupyter_kf.errors."""

from __future__ import annotations

import json

from kubernetes.client.exceptions import ApiException

from ..errors import (
    BackendUnavailableError,
    ConflictError,
    ForbiddenError,
    InvalidSpecError,
    JupyterKFError,
    NotFoundError,
)


def _status_body(exc: ApiException) -> dict:
    try:
        body = json.loads(exc.body or "{}")
    except (TypeError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}


def translate(
    exc: BaseException, *, verb: str, resource: str, namespace: str | None, name: str | None = None
) -> JupyterKFError:
    """The error a user should see for ``exc`` raised while doing ``verb`` on ``resource``."""
    where = f"in namespace {namespace!r}" if namespace else "cluster-wide"
    what = f"{resource} {name!r}" if name else resource
    if not isinstance(exc, ApiException):
        return BackendUnavailableError(
            f"cannot reach the Kubernetes API server to {verb} {what} {where}: "
            f"{type(exc).__name__}: {str(exc)[:200]}"
        )
    body = _status_body(exc)
    message = body.get("message") or exc.reason or ""
    if exc.status == 403:
        return ForbiddenError(
            f"forbidden: you may not {verb} {what} {where} (the API server said: {message})"
        )
    if exc.status == 401:
        return ForbiddenError(
            f"unauthorized to {verb} {what} {where}: the credentials were refused"
        )
    if exc.status == 404:
        return NotFoundError(f"{what} not found {where}")
    if exc.status == 409:
        return ConflictError(
            f"{what} already exists or was changed concurrently {where}: {message}"
        )
    if exc.status == 422 or exc.status == 400:
        causes = (body.get("details") or {}).get("causes") or []
        problems = [f"{c.get('field', '?')}: {c.get('message', '')}".strip() for c in causes]
        return InvalidSpecError(problems or [message], subject=f"{resource} (per the API server)")
    if exc.status == 0 or exc.status >= 500:
        return BackendUnavailableError(
            f"the Kubernetes API server failed to {verb} {what} {where}: {exc.status} {message}"
        )
    return JupyterKFError(f"could not {verb} {what} {where}: {exc.status} {message}")
