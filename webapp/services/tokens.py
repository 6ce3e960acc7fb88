"""Personal API tokens: what the profile page and the JSON API call.

A token is `cb_` + 43 random URL-safe characters. It is shown once, when created; only its
SHA-256 is stored (a leaked database does not leak usable tokens). A token acts as its user,
with the user's role; it can be revoked at any time, and records when it was last used."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from .. import audit_log
from ..extensions import db
from ..models import ApiToken, User
from ..models.types import iso, utcnow
from . import add_created, error

PREFIX = "cb_"
TOUCH_SECONDS = 60  # last_used_at is written at most this often per token
MAX_TOKENS_PER_USER = 50


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def list_tokens(user: User, include_revoked: bool = False) -> list[ApiToken]:
    """The user's tokens, newest first (never the token text: it is not stored)."""
    query = sa.select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
    if not include_revoked:
        query = query.where(ApiToken.revoked_at.is_(None))
    return db.session.scalars(query).all()


def get_token(token_id: int) -> ApiToken | None:
    return db.session.get(ApiToken, token_id)


def view(token: ApiToken) -> dict[str, Any]:
    now = utcnow()
    state = "revoked" if token.revoked_at else "expired" if token.expires_at and token.expires_at <= now else "active"
    return {
        "id": token.id,
        "name": token.name,
        "prefix": token.prefix,
        "user_id": token.user_id,
        "created_at": iso(token.created_at),
        "expires_at": iso(token.expires_at),
        "last_used_at": iso(token.last_used_at),
        "revoked_at": iso(token.revoked_at),
        "state": state,
    }


def create_token(
    user: User, name: str | None, expires_in_days: int | None = None
) -> tuple[ApiToken | None, str | None, list[dict[str, str]]]:
    """Returns (token row, token text, errors). The text is shown once and never again."""
    name = str(name or "").strip()
    errors = []
    if not name or len(name) > 100:
        errors.append(error("name", "Give the token a name (up to 100 characters), e.g. the system that uses it."))
    if expires_in_days is not None and (
        isinstance(expires_in_days, bool) or not isinstance(expires_in_days, int) or not 1 <= expires_in_days <= 3650
    ):
        errors.append(error("expires_in_days", "Expiry must be a whole number of days from 1 to 3650."))
    active = db.session.scalar(
        sa.select(sa.func.count()).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    )
    if active >= MAX_TOKENS_PER_USER:
        errors.append(error("name", f"You already have {active} tokens; revoke one first."))
    if errors:
        return None, None, errors
    text = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=hash_token(text),
        prefix=text[:10],
        expires_at=utcnow() + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    return add_created(token, "token.create", view, user), text, []


def revoke_token(token: ApiToken, user: User | None = None) -> ApiToken:
    """Revoke a token (idempotent). It stops working at once."""
    if token.revoked_at is None:
        before = view(token)
        token.revoked_at = utcnow()
        audit_log.record("token.revoke", token, before=before, after=view(token), user=user)
        db.session.commit()
    return token


def authenticate(text: str | None) -> tuple[User | None, ApiToken | None]:
    """The active user a token text belongs to, or None (unknown, revoked, expired, or the
    user deactivated). Notes the time of use (at most every TOUCH_SECONDS)."""
    if not text or not text.startswith(PREFIX) or len(text) > 200:
        return None, None
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == hash_token(text)))
    now = utcnow()
    if token is None or token.revoked_at is not None or (token.expires_at and token.expires_at <= now):
        return None, None
    user = db.session.get(User, token.user_id)
    if user is None or not user.active:
        return None, None
    if token.last_used_at is None or now - token.last_used_at >= timedelta(seconds=TOUCH_SECONDS):
        db.session.execute(
            sa.update(ApiToken)
            .where(ApiToken.id == token.id)
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        token = db.session.get(ApiToken, token.id, populate_existing=True)
    return user, token
