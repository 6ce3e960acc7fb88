"""Who is asking, and what their role lets them do. Used by the pages and the JSON API
alike: a browser session (Flask-Login) or a bearer token both end up as `current_user`."""
import functools

from flask import abort
from flask_login import LoginManager, current_user

from .extensions import db
from .models import User

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to continue."

# Each role can do everything the roles after it can.
RANK = {"viewer": 1, "manager": 2, "admin": 3}


@login_manager.user_loader
def load_user(user_id):
    user = db.session.get(User, int(user_id))
    return user if user is not None and user.active else None


def has_role(user, role):
    """True when `user` holds `role` or a higher one."""
    return bool(user and user.is_authenticated and RANK.get(user.role, 0) >= RANK[role])


def role_required(role):
    """Route decorator: sign-in required (401 / redirect), and at least `role` (403)."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not has_role(current_user, role):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
