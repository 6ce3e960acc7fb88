"""Users (admins add, change and sign out people) and a person's own profile and language.
Routes on the auth blueprint (endpoints auth.users, auth.profile, ...)."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..auth import role_required
from ..models.user import ROLES
from ..params import safe_next
from ..services import users as user_service
from .auth import bp

LANGUAGE_NAMES = {"en": "English", "he": "עברית"}  # each language in its own words


def _users_page(errors=(), form=None, status=200):
    return render_template(
        "auth/users.html",
        users=user_service.list_users(),
        roles=ROLES,
        languages=user_service.LANGUAGES,
        language_names=LANGUAGE_NAMES,
        timezones=user_service.timezones(),
        errors=list(errors),
        form=form or {},
    ), status


def _person_data(form, keys):
    data = {key: form[key] for key in keys if form.get(key)}
    if "timezone" in form:
        data["timezone"] = form["timezone"].strip()  # blank: back to the installation's zone
    return data


@bp.get("/users")
@role_required("admin")
def users():
    return _users_page()


@bp.post("/users")
@role_required("admin")
def create_user():
    new, errors, generated = user_service.create_user(request.form)
    if errors:
        return _users_page(errors, request.form, 422)
    flash(
        _("Created %(role)s %(email)s.", role=_(new.role), email=new.email)
        + (" " + _("Password (shown once): %(password)s", password=generated) if generated else "")
    )
    return redirect(url_for("auth.users"))


@bp.post("/users/<id:user_id>")
@role_required("admin")
def update_user(user_id):
    target = user_service.get_user(user_id) or abort(404)
    data = _person_data(request.form, ("role", "language", "password"))
    data["active"] = request.form.get("active") == "on"
    _user, errors = user_service.update_user(target, data)
    for e in errors:
        flash(e["message"], "error")
    if not errors:
        flash(_("Saved %(email)s.", email=target.email))
    return redirect(url_for("auth.users"))


@bp.post("/users/<id:user_id>/sessions/end")
@role_required("admin")
def end_sessions(user_id):
    target = user_service.get_user(user_id) or abort(404)
    user_service.end_user_sessions(target)
    flash(
        _("%(email)s is signed out everywhere.", email=target.email)
        if target.id != current_user.id
        else _("Your other sessions are signed out; this one stays.")
    )
    return redirect(url_for("auth.users"))


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    """A person's own interface language and time zone."""
    me = current_user._get_current_object()
    errors = []
    if request.method == "POST":
        _user, errors = user_service.update_user(me, _person_data(request.form, ("language",)), user=me)
        if not errors:
            flash(_("Saved."))
            return redirect(url_for("auth.profile"))
    return render_template(
        "auth/profile.html",
        me=me,
        languages=user_service.LANGUAGES,
        language_names=LANGUAGE_NAMES,
        timezones=user_service.timezones(),
        errors=errors,
    ), 422 if errors else 200


@bp.post("/language")
@login_required
def language():
    """The signed-in user's own interface direction (he = right-to-left)."""
    user_service.update_user(current_user._get_current_object(), {"language": request.form.get("language", "en")})
    return redirect(safe_next(request.form.get("next")) or url_for("dashboard.index"))
