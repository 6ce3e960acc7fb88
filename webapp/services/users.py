"""Users (admins manage them): list, create, change role / active / password / language,
end their sessions. The last active admin can be neither demoted nor deactivated. A new
password, a new role or deactivation ends the user's other sessions."""

from __future__ import annotations

import functools
import re
import secrets
from collections.abc import Mapping
from typing import Any

import pytz
import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from .. import audit_log
from ..auth import end_sessions
from ..extensions import db
from ..models import User
from ..models.types import iso, utcnow
from ..models.user import ROLES
from . import add_created, error

LANGUAGES = ("en", "he")
MIN_PASSWORD = 10
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


def timezones() -> list[str]:
    """The zones a user may choose (IANA names, as pytz and Babel know them)."""
    return pytz.common_timezones


def valid_timezone(zone: str) -> bool:
    return zone in pytz.all_timezones_set


def list_users() -> list[User]:
    return db.session.scalars(sa.select(User).order_by(User.email)).all()


def get_user(user_id: int) -> User | None:
    return db.session.get(User, user_id)


def by_email(email: str | None) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == (email or "").strip().lower()))


def view(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "role": user.role,
        "active": user.active,
        "language": user.language,
        "timezone": user.timezone,
        "created_at": iso(user.created_at),
        "last_login_at": iso(user.last_login_at),
    }


def authenticate(email: str | None, password: str | None) -> User | None:
    """The active user with this e-mail and password, or None. Every miss gives the same
    answer in the same time: an unknown e-mail is checked against a hash of the same kind,
    so the time taken does not tell which e-mails have an account."""
    user = by_email(email)
    if user is None:
        check_password_hash(_dummy_hash(), password or "")
        return None
    if not user.check_password(password or "") or not user.active:
        return None
    user.last_login_at = utcnow()
    db.session.commit()
    return user


@functools.lru_cache(maxsize=1)
def _dummy_hash():
    """A hash made like every stored one (werkzeug's default method and cost)."""
    return generate_password_hash(secrets.token_urlsafe(16))


def create_user(
    data: Mapping[str, Any], user: User | None = None
) -> tuple[User | None, list[dict[str, str]], str | None]:
    """Returns (user, errors, generated password or None). A blank password is generated."""
    email = (data.get("email") or "").strip().lower()
    role = data.get("role") or "viewer"
    password = data.get("password") or ""
    errors = []
    if not EMAIL.match(email) or len(email) > 254:
        errors.append(error("email", "Enter an e-mail address."))
    elif by_email(email):
        errors.append(error("email", f"A user with e-mail {email} already exists."))
    if role not in ROLES:
        errors.append(error("role", f"Role must be one of: {', '.join(ROLES)}."))
    if password and len(password) < MIN_PASSWORD:
        errors.append(error("password", f"The password needs at least {MIN_PASSWORD} characters."))
    language = data.get("language") or "en"
    if language not in LANGUAGES:
        errors.append(error("language", "Language must be en or he."))
    if errors:
        return None, errors, None
    generated = None if password else secrets.token_urlsafe(12)
    new = User(email=email, role=role, language=language, active=True)
    new.set_password(password or generated)
    return add_created(new, "user.create", view, user), [], generated


def update_user(target: User, data: Mapping[str, Any], user: User | None = None) -> tuple[User, list[dict[str, str]]]:
    """Change role, active, language and/or password (keys given only). Returns (user, errors)."""
    errors = []
    before = view(target)
    role = data.get("role", target.role)
    active = data.get("active", target.active)
    if isinstance(active, str):
        active = active.lower() in ("1", "true", "yes", "on")
    if role not in ROLES:
        errors.append(error("role", f"Role must be one of: {', '.join(ROLES)}."))
    language = data.get("language", target.language)
    if language not in LANGUAGES:
        errors.append(error("language", "Language must be en or he."))
    zone = data.get("timezone", target.timezone) or None
    if zone is not None and not valid_timezone(zone):
        errors.append(error("timezone", f"Unknown time zone {zone}: choose one from the list, e.g. Asia/Jerusalem."))
    password = data.get("password") or ""
    if password and len(password) < MIN_PASSWORD:
        errors.append(error("password", f"The password needs at least {MIN_PASSWORD} characters."))
    if target.role == "admin" and target.active and (role != "admin" or not active) and _active_admins() <= 1:
        errors.append(error("role", "This is the last active admin: make someone else admin first."))
    if errors:
        return target, errors
    ends_sessions = bool(password) or role != target.role or (target.active and not active)
    target.role, target.active, target.language, target.timezone = role, bool(active), language, zone
    if password:
        target.set_password(password)
    if ends_sessions:
        end_sessions(target)
    after = view(target)
    if password:
        after["password"] = "changed"
    if ends_sessions:
        after["sessions"] = "ended"
    audit_log.record("user.update", target, before=before, after=after, user=user)
    db.session.commit()
    return target, []


def end_user_sessions(target: User, user: User | None = None) -> None:
    """Sign `target` out everywhere (an admin's action; their own current session stays)."""
    end_sessions(target)
    audit_log.record("user.sessions_end", target, after={"sessions": "ended"}, user=user)
    db.session.commit()


def sign_out(target: User) -> None:
    """Signing out ends every session of the user, on every device (the cookie of this one
    too: it is cleared by the caller)."""
    end_sessions(target, keep_current=False)
    audit_log.record("user.logout", target, user=target)
    db.session.commit()


def _active_admins():
    return db.session.scalar(sa.select(sa.func.count()).where(User.role == "admin", User.active.is_(True)))
