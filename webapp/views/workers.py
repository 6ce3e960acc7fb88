"""Workers (admin): every live worker, what it is processing, its memory and CPU, the queues,
the scheduler's last tick and the download directory's free space. The live part is one
fragment polled every 5 s."""

from flask import Blueprint, render_template

from ..auth import role_required
from ..services import workers as service
from . import is_htmx, require_login

bp = Blueprint("workers", __name__, url_prefix="/workers")

require_login(bp)


@bp.get("/")
@role_required("admin")
def index():
    return render_template("workers/index.html", **service.overview())


@bp.get("/partials/overview")
@role_required("admin")
def overview_fragment():
    if not is_htmx():  # opened as a link: the whole page
        return index()
    return render_template("partials/workers.html", **service.overview())
