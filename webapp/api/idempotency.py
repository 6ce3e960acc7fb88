"""Idempotency-Key: a job-creating request repeated with the same key gets the first answer."""

import hashlib
import re
from datetime import timedelta

import sqlalchemy as sa
from flask import jsonify, request
from flask_login import current_user

from ..extensions import db
from ..models import IdempotencyKey
from ..models.types import utcnow
from .errors import ApiError

IDEMPOTENCY_HOURS = 24


def idempotent_call(call):
    """Run a job-creating request once per (user, Idempotency-Key): a repeat gets the first
    answer (with `Idempotent-Replayed: true`); the same key with another request is a 422;
    a repeat while the first still runs is a 409. Only successful answers are kept (24 h)."""
    key = _key()
    endpoint = f"{request.method} {request.path}"[:200]
    body_hash = hashlib.sha256(request.get_data(cache=True)).hexdigest()
    user_id = current_user.id
    db.session.execute(
        sa.delete(IdempotencyKey).where(
            IdempotencyKey.user_id == user_id,
            IdempotencyKey.created_at < utcnow() - timedelta(hours=IDEMPOTENCY_HOURS),
        )
    )
    row = IdempotencyKey(user_id=user_id, key=key, endpoint=endpoint, request_hash=body_hash)
    if not _claimed(row):
        return _replay(user_id, key, endpoint, body_hash)
    return _run_once(row.id, call)


def _key():
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key or len(key) > 200 or not re.fullmatch(r"[\x21-\x7e]+", key):
        raise ApiError(
            422,
            "Idempotency-Key must be 1–200 visible ASCII characters.",
            details=[{"field": "Idempotency-Key", "reason": "1-200 visible ASCII characters"}],
        )
    return key


def _claimed(row):
    """Whether the key's row could be written: not when the user has already sent the key."""
    db.session.add(row)
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()
        return False
    return True


def _replay(user_id, key, endpoint, body_hash):
    """The first answer to the same request, or why there is none to give."""
    first = db.session.scalar(
        sa.select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
    )
    if first is None:
        raise ApiError(409, "A request with this Idempotency-Key is being processed; retry shortly.")
    if first.endpoint != endpoint or first.request_hash != body_hash:
        raise ApiError(
            422,
            "This Idempotency-Key was already used for a different request.",
            code="IDEMPOTENCY_KEY_REUSED",
            details=[{"field": "Idempotency-Key", "reason": "used for a different request"}],
        )
    if first.status_code is None:
        raise ApiError(409, "A request with this Idempotency-Key is still being processed; retry shortly.")
    resp = jsonify(first.response)
    resp.status_code = first.status_code
    resp.headers["Idempotent-Replayed"] = "true"
    return resp


def _run_once(row_id, call):
    """Run the request; keep its answer on the key's row if it succeeded, else free the key."""
    try:
        resp = call()
    except BaseException:
        db.session.rollback()
        db.session.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.id == row_id))
        db.session.commit()
        raise
    if 200 <= resp.status_code < 300 and resp.is_json:
        db.session.execute(
            sa.update(IdempotencyKey)
            .where(IdempotencyKey.id == row_id)
            .values(status_code=resp.status_code, response=resp.get_json())
        )
    else:
        db.session.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.id == row_id))
    db.session.commit()
    return resp
