"""Sign in and out. The users pages (views/users.py) and the audit log (views/audit.py) add
their routes to this same blueprint, so their endpoints stay auth.*."""

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from .. import auth
from ..params import safe_next
from ..services import users as user_service

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    next_url = safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("auth/login.html", next=next_url, email="")
    email = (request.form.get("email") or "").strip().lower()
    wait = auth.login_blocked(email, request.remote_addr)
    if wait:
        error = _("Too many failed sign-ins. Try again in %(num)d minutes.", num=wait // 60 + 1)
        return render_template("auth/login.html", next=next_url, email=email, error=error), 429
    user = user_service.authenticate(email, request.form.get("password"))
    if user is None:
        auth.note_failed_login(email, request.remote_addr)
        return render_template("auth/login.html", next=next_url, email=email, error=_("Wrong e-mail or password.")), 401
    auth.clear_failed_logins(email, request.remote_addr)
    session.clear()  # a fresh session: no fixation
    session.permanent = True
    login_user(user)
    from .. import audit_log
    from ..extensions import db

    audit_log.record("user.login", user, user=user)
    db.session.commit()
    return redirect(next_url or url_for("dashboard.index"))


@bp.post("/logout")
@login_required
def logout():
    """Ends every session of this user, on every device."""
    user_service.sign_out(current_user._get_current_object())
    logout_user()
    session.clear()
    flash(_("You are signed out."))
    return redirect(url_for("auth.login"))
