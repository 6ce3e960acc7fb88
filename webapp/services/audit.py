"""The audit log: browse who changed what, filtered by actor, action and target."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from ..extensions import db
from ..models import AuditLog
from ..models.types import iso
from . import Page, paginate


def parse_filters(args: Mapping[str, Any]) -> dict[str, str]:
    filters = {}
    for key in ("actor", "action", "target_type", "target_id"):
        value = (args.get(key) or "").strip()
        if value:
            filters[key] = value[:100]
    return filters


def list_entries(filters: dict[str, str] | None = None, page: object = 1, per_page: object = 50) -> Page:
    filters = filters or {}
    query = sa.select(AuditLog).order_by(AuditLog.id.desc())
    if "actor" in filters:
        query = query.where(AuditLog.actor.ilike(f"%{filters['actor']}%"))
    if "action" in filters:
        query = query.where(AuditLog.action.startswith(filters["action"]))
    if "target_type" in filters:
        query = query.where(AuditLog.target_type == filters["target_type"])
    if "target_id" in filters:
        query = query.where(AuditLog.target_id == filters["target_id"])
    return paginate(query, page, per_page)


def actions() -> list[str]:
    """The distinct actions recorded so far (for the filter)."""
    return db.session.scalars(sa.select(AuditLog.action).distinct().order_by(AuditLog.action)).all()


def view(entry: AuditLog) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": iso(entry.created_at),
        "actor": entry.actor,
        "user_id": entry.user_id,
        "action": entry.action,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "before": entry.before,
        "after": entry.after,
    }
