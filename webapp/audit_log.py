"""Every change a user makes leaves an audit row: who, what, before and after, when."""

from flask import has_request_context
from flask_login import current_user

from .extensions import db
from .models import AuditLog


def record(action, target=None, before=None, after=None, actor=None, user=None):
    """Add an audit row to the session (the caller's commit saves it with the change).
    `target` is a model instance or a (type, id) pair."""
    if user is None and has_request_context() and current_user.is_authenticated:
        user = current_user
    target_type, target_id = _target(target)
    row = AuditLog(
        user_id=getattr(user, "id", None),
        actor=actor or getattr(user, "email", None) or "system",
        action=action,
        target_type=target_type,
        target_id=target_id,
        before=before,
        after=after,
    )
    db.session.add(row)
    return row


def _target(target):
    if target is None:
        return None, None
    if isinstance(target, tuple):
        return target[0], str(target[1])
    return target.__tablename__.rstrip("s"), str(target.id)
