"""Users (admins manage them): list, create, change role / active / password / language.
The last active admin can be neither demoted nor deactivated."""
import re
import secrets

import sqlalchemy as sa

from .. import audit
from ..extensions import db
from ..models import User
from ..models.types import utcnow
from ..models.user import ROLES
from . import error

LANGUAGES = ("en", "he")
MIN_PASSWORD = 10
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


def list_users():
    return db.session.scalars(sa.select(User).order_by(User.email)).all()


def get_user(user_id):
    return db.session.get(User, user_id)


def by_email(email):
    return db.session.scalar(sa.select(User).where(User.email == (email or "").strip().lower()))


def view(user):
    return {"id": user.id, "email": user.email, "role": user.role, "active": user.active,
            "language": user.language, "created_at": _iso(user.created_at),
            "last_login_at": _iso(user.last_login_at)}


def authenticate(email, password):
    """The active user with this e-mail and password, or None (same answer for every miss)."""
    user = by_email(email)
    if user is None or not user.active or not user.check_password(password or ""):
        return None
    user.last_login_at = utcnow()
    db.session.commit()
    return user


def create_user(data, user=None):
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
    db.session.add(new)
    db.session.flush()
    audit.record("user.create", new, after=view(new), user=user)
    db.session.commit()
    return new, [], generated


def update_user(target, data, user=None):
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
    password = data.get("password") or ""
    if password and len(password) < MIN_PASSWORD:
        errors.append(error("password", f"The password needs at least {MIN_PASSWORD} characters."))
    if target.role == "admin" and target.active and (role != "admin" or not active) and _active_admins() <= 1:
        errors.append(error("role", "This is the last active admin: make someone else admin first."))
    if errors:
        return target, errors
    target.role, target.active, target.language = role, bool(active), language
    if password:
        target.set_password(password)
    after = view(target)
    if password:
        after["password"] = "changed"
    audit.record("user.update", target, before=before, after=after, user=user)
    db.session.commit()
    return target, []


def _active_admins():
    return db.session.scalar(sa.select(sa.func.count()).where(User.role == "admin", User.active.is_(True)))


def _iso(moment):
    return moment.isoformat() if moment else None
