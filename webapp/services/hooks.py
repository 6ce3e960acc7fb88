"""Inbound webhooks: a per-folder secret with which an external system (a telephony platform,
a scheduler) announces new recordings of that folder.

The secret is kept encrypted (it is also the HMAC key, so it cannot be a one-way hash) and
shown once, when created or rotated. A call is accepted with the secret as the `token`
query parameter, or with `X-Callbatch-Signature: sha256=<hex>`, the HMAC-SHA256 of the raw
body under the secret."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

import sqlalchemy as sa

from .. import audit_log, crypto
from ..batch import announce, enqueue
from ..batch.discovery import storage_for
from ..extensions import db
from ..models import ExternalFolder, FolderHook, User
from ..models.types import iso, utcnow


def get_hook(folder: ExternalFolder) -> FolderHook | None:
    return db.session.scalar(sa.select(FolderHook).where(FolderHook.folder_id == folder.id))


def url_path(folder: ExternalFolder) -> str:
    return f"/api/hooks/folders/{folder.id}"


def view(folder: ExternalFolder) -> dict[str, Any]:
    hook = get_hook(folder)
    return {
        "folder_id": folder.id,
        "enabled": hook is not None,
        "url": url_path(folder),
        "created_at": iso(hook.created_at) if hook else None,
        "last_used_at": iso(hook.last_used_at) if hook else None,
    }


def rotate(folder: ExternalFolder, user: User | None = None) -> str:
    """Create the folder's webhook secret, or replace it. Returns the secret (shown once)."""
    secret = secrets.token_urlsafe(32)
    hook = get_hook(folder)
    before = view(folder)
    if hook is None:
        hook = FolderHook(folder_id=folder.id)
        db.session.add(hook)
    hook.secret, hook.created_at, hook.last_used_at = crypto.encrypt(secret), utcnow(), None
    db.session.flush()
    audit_log.record("folder.webhook_rotate", folder, before=before, after=view(folder), user=user)
    db.session.commit()
    return secret


def remove(folder: ExternalFolder, user: User | None = None) -> None:
    hook = get_hook(folder)
    if hook is not None:
        audit_log.record("folder.webhook_remove", folder, before=view(folder), user=user)
        db.session.delete(hook)
        db.session.commit()


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(folder: ExternalFolder, body: bytes, token: str | None = None, signature: str | None = None) -> bool:
    """True when the call carries the folder's secret (token) or a valid signature."""
    hook = get_hook(folder)
    if hook is None or not (token or signature):
        return False
    try:
        secret = crypto.decrypt(hook.secret)
    except ValueError:
        return False
    ok = bool(token) and hmac.compare_digest(token.encode(), secret.encode())
    if not ok and signature:
        ok = hmac.compare_digest(signature.strip().encode(), sign(secret, body).encode())
    if ok:
        hook.last_used_at = utcnow()
        db.session.commit()
    return ok


def announce_files(folder: ExternalFolder, paths: list[str]) -> dict[str, Any]:
    """Take exactly the announced recordings of a folder. Cloud folders (and any storage that
    can look up one object) record just those paths; a storage that cannot (local
    directories) gets a scan queued instead, which finds them. Returns a dict report."""
    storage = storage_for(folder)
    if hasattr(storage, "stat"):
        result = announce.announce(folder, paths, trigger="webhook")
        return {
            "mode": "announce",
            "busy": result.busy,
            "job_id": result.job_id,
            "queued": result.queued,
            "held": result.held,
            "skipped": result.skipped,
            "known": result.known,
            "ignored": result.ignored,
            "missing": result.missing,
        }
    rq_job = enqueue.scan(folder.id, "webhook")
    return {"mode": "scan", "busy": False, "scan_id": rq_job.id}
