"""Who is asking, and what their role lets them do. Used by the pages and the JSON API
alike: a browser session (Flask-Login) or a bearer token both end up as `current_user`."""

import functools

from flask import abort
from flask_babel import lazy_gettext as _  # `_` so that pybabel extract (default keywords) finds it
from flask_login import LoginManager, current_user

from .extensions import db
from .models import User

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = _("Please sign in to continue.")

# Each role can do everything the roles after it can.
RANK = {"viewer": 1, "manager": 2, "admin": 3}


@login_manager.user_loader
def load_user(session_id):
    """The user of a session or remember cookie: "<id>:<session token>" (User.get_id). A cookie
    issued before the user's sessions were ended carries an old token and is refused."""
    user_id, _sep, token = str(session_id).partition(":")
    if not (user_id.isascii() and user_id.isdigit()) or len(user_id) > 10 or not token:
        return None
    user = db.session.get(User, int(user_id))
    return user if user is not None and user.active and user.holds_session(token) else None


def end_sessions(user, keep_current=True):
    """End every session of `user` (the caller commits). The session making this request
    stays signed in when it is that user's own and `keep_current` is set: it is given the
    new token at once."""
    from flask import has_request_context, session

    user.end_sessions()
    if keep_current and has_request_context() and current_user.is_authenticated and current_user.id == user.id:
        session["_user_id"] = user.get_id()


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


# -- CSRF and login rate limiting (pages) ----------------------------------------------------

from flask_wtf.csrf import CSRFProtect  # noqa: E402

# Every POST/PUT/PATCH/DELETE needs the token: forms carry it in a hidden field, htmx sends
# it as the X-CSRFToken header (hx-headers on <body>). Token-authenticated API blueprints
# exempt themselves with `csrf.exempt(bp)`.
csrf = CSRFProtect()


def _attempt_keys(email, remote_addr):
    from .queues import redis_key

    return [
        redis_key("login-fail", "email", (email or "").strip().lower()),
        redis_key("login-fail", "ip", remote_addr or "unknown"),
    ]


def login_blocked(email, remote_addr):
    """Seconds to wait before the next try, or 0. Counts failed sign-ins per e-mail and per
    client address over LOGIN_WINDOW_SECONDS (in Redis, so every web process shares them)."""
    from flask import current_app

    from .queues import connection

    limit = current_app.config["LOGIN_MAX_ATTEMPTS"]
    redis = connection()
    email_key, ip_key = _attempt_keys(email, remote_addr)
    counts = redis.mget(email_key, ip_key)
    over = [
        key
        for key, count, cap in ((email_key, counts[0], limit), (ip_key, counts[1], limit * 4))
        if count is not None and int(count) >= cap
    ]
    if not over:
        return 0
    return max(1, max(redis.ttl(key) for key in over))


def note_failed_login(email, remote_addr):
    from flask import current_app

    from .queues import connection

    window = current_app.config["LOGIN_WINDOW_SECONDS"]
    pipe = connection().pipeline()
    for key in _attempt_keys(email, remote_addr):
        pipe.incr(key)
        pipe.expire(key, window)  # the window restarts at each failure
    pipe.execute()


def clear_failed_logins(email, remote_addr):
    from .queues import connection

    connection().delete(_attempt_keys(email, remote_addr)[0])
