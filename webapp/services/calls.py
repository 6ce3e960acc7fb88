"""Sales calls: list, detail (transcript segments, scorecard with evidence), the audio
file to stream, and assigning a call to a customer."""
import mimetypes
import os
import shutil
import tempfile

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload

from .. import audit
from ..analysis import customers as customer_links
from ..batch.discovery import storage_for
from ..errors import CallbatchError, FileAccessError
from ..extensions import db
from ..models import Customer, SalesCall
from ..models.types import iso
from . import error, paginate

AUDIO_TYPES = {".mp3": "audio/mpeg", ".wav": "audio/wav", ".m4a": "audio/mp4", ".aac": "audio/aac",
               ".ogg": "audio/ogg"}


def list_calls(q=None, customer_id=None, unassigned=False, job_id=None, page=1, per_page=50):
    query = sa.select(SalesCall).options(joinedload(SalesCall.customer)).order_by(
        SalesCall.called_at.desc().nulls_last(), SalesCall.id.desc())
    if q:
        like = f"%{q.strip()}%"
        query = query.where(sa.or_(SalesCall.call_uuid.ilike(like), SalesCall.agent.ilike(like)))
    if customer_id:
        query = query.where(SalesCall.customer_id == customer_id)
    if unassigned:
        query = query.where(SalesCall.customer_id.is_(None))
    if job_id:
        query = query.where(SalesCall.job_id == job_id)
    return paginate(query, page, per_page)


def get_call(call_id):
    return db.session.get(SalesCall, call_id)


def scorecard(call):
    """The scores document in a shape a page can draw: overall, pass mark, summary and each
    criterion with its evidence quotes (text, time) and what was missing."""
    scores = call.scores or {}
    criteria = []
    for crit in scores.get("criteria") or []:
        criteria.append({**crit, "evidence": sorted(crit.get("evidence") or [], key=lambda e: e.get("start") or 0)})
    return {"overall": scores.get("overall", call.overall_score), "pass_mark": scores.get("pass_mark"),
            "summary": scores.get("summary"), "scorer": scores.get("scorer"), "rubric": scores.get("rubric"),
            "criteria": criteria, "empty": scores.get("empty", not criteria)}


def view(call):
    return {"id": call.id, "call_uuid": call.call_uuid, "file_id": call.file_id, "job_id": call.job_id,
            "customer": None if not call.customer else {"id": call.customer.id, "name": call.customer.name,
                                                        "phone": call.customer.phone},
            "agent": call.agent, "called_at": iso(call.called_at), "duration_seconds": call.duration_seconds,
            "language": call.language, "transcript": call.transcript, "segments": call.segments or [],
            "engine": call.engine, "model": call.model, "overall_score": call.overall_score,
            "scores": call.scores, "metrics": call.metrics, "created_at": iso(call.created_at)}


def audio(call):
    """(local path, mimetype) of the call's recording, for streaming with range requests.
    Local folders are read in place; cloud recordings are downloaded once into the instance's
    audio cache. Raises CallbatchError when the recording cannot be had."""
    record = call.file
    if record is None or record.folder is None:
        raise FileAccessError("The recording's file record or folder was removed.", code="FILE_NOT_FOUND")
    ext = os.path.splitext(record.file_name)[1].lower()
    mimetype = AUDIO_TYPES.get(ext) or mimetypes.guess_type(record.file_name)[0] or "application/octet-stream"
    storage = storage_for(record.folder)
    if record.folder.storage_type == "local":
        return storage.local_path(record.file_path), mimetype
    cache_dir = os.path.join(current_app.instance_path, "audio-cache")
    os.makedirs(cache_dir, exist_ok=True)
    cached = os.path.join(cache_dir, f"{call.content_sha256}{ext}")
    if not os.path.exists(cached):
        with storage.download_file(record.file_path) as path:
            fd, partial = tempfile.mkstemp(dir=cache_dir, suffix=".part")
            os.close(fd)
            shutil.copyfile(path, partial)
            os.replace(partial, cached)
    return cached, mimetype


def assign(call, customer_id=None, new_customer=None, user=None):
    """Assign a call to an existing customer (`customer_id`), to a new one (`new_customer` =
    {"name", "phone", "external_id"}), or unassign it (neither). Returns (call, errors)."""
    before = {"customer_id": call.customer_id}
    customer = None
    if customer_id:
        customer = db.session.get(Customer, int(customer_id))
        if customer is None:
            return call, [error("customer_id", f"There is no customer {customer_id}.")]
    elif new_customer:
        from .customers import create_customer

        customer, errors = create_customer(new_customer, user=user, commit=False)
        if errors:
            db.session.rollback()
            return call, errors
    try:
        customer_links.assign(call, customer)
    except CallbatchError as err:
        db.session.rollback()
        return call, [error("customer_id", err.message)]
    audit.record("call.assign", call, before=before, after={"customer_id": call.customer_id}, user=user)
    db.session.commit()
    return call, []
