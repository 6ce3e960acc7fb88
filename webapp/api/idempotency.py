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
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key or len(key) > 200 or not re.fullmatch(r"[\x21-\x7e]+", key):
        raise ApiError(
            422,
            "Idempotency-Key must be 1–200 visible ASCII characters.",
            details=[{"field": "Idempotency-Key", "reason": "1-200 visible ASCII characters"}],
        )
    endpoint = f"{request.method} {request.path}"[:200]
    body_hash = hashlib.sha256(request.get_data(cache=True)).hexdigest()
    user_id = current_user.id
    IK = IdempotencyKey
    db.session.execute(
        sa.delete(IK).where(IK.user_id == user_id, IK.created_at < utcnow() - timedelta(hours=IDEMPOTENCY_HOURS))
    )
    row = IK(user_id=user_id, key=key, endpoint=endpoint, request_hash=body_hash)
    db.session.add(row)
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()
        first = db.session.scalar(sa.select(IK).where(IK.user_id == user_id, IK.key == key))
        if first is None:
            raise ApiError(409, "A request with this Idempotency-Key is being processed; retry shortly.") from None
        if first.endpoint != endpoint or first.request_hash != body_hash:
            raise ApiError(
                422,
                "This Idempotency-Key was already used for a different request.",
                code="IDEMPOTENCY_KEY_REUSED",
                details=[{"field": "Idempotency-Key", "reason": "used for a different request"}],
            ) from None
        if first.status_code is None:
            raise ApiError(
                409, "A request with this Idempotency-Key is still being processed; retry shortly."
            ) from None
        resp = jsonify(first.response)
        resp.status_code = first.status_code
        resp.headers["Idempotent-Replayed"] = "true"
        return resp
    row_id = row.id
    try:
        resp = call()
    except BaseException:
        db.session.rollback()
        db.session.execute(sa.delete(IK).where(IK.id == row_id))
        db.session.commit()
        raise
    if 200 <= resp.status_code < 300 and resp.is_json:
        db.session.execute(
            sa.update(IK).where(IK.id == row_id).values(status_code=resp.status_code, response=resp.get_json())
        )
    else:
        db.session.execute(sa.delete(IK).where(IK.id == row_id))
    db.session.commit()
    return resp
