import sqlalchemy as sa
from flask import Blueprint, render_template

from ..batch.status import STATUSES
from ..errors import explain
from ..extensions import db
from ..models import BatchJob, ExternalFolder, FileProcessingRecord

bp = Blueprint("dashboard", __name__)


@bp.get("/")
def index():
    return render_template("dashboard.html", **_status())


@bp.get("/partials/status")
def status_fragment():
    return render_template("partials/status.html", **_status())


@bp.get("/healthz")
def healthz():
    db.session.execute(sa.text("SELECT 1"))
    return {"status": "ok"}


def _status():
    FPR = FileProcessingRecord
    counts = dict(db.session.execute(sa.select(FPR.status, sa.func.count()).group_by(FPR.status)).all())
    jobs = db.session.scalars(sa.select(BatchJob).order_by(BatchJob.id.desc()).limit(10)).all()
    errors = db.session.scalars(
        sa.select(FPR).where(FPR.error_code.is_not(None)).order_by(FPR.updated_at.desc()).limit(10)
    ).all()
    folders = db.session.scalars(sa.select(ExternalFolder).order_by(ExternalFolder.name)).all()
    return dict(totals={s: counts.get(s, 0) for s in STATUSES}, jobs=jobs, errors=errors, folders=folders,
                explain=explain, active=any(j.status in ("pending", "running") for j in jobs))
