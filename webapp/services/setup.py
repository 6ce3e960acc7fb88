"""The first-run setup guide: add a folder → choose the speech engine → a notification
channel (optional) → preview the first scan → start. Each step's state comes from the data
where the data can answer (a folder exists, a notification exists, a job ran); the rest, and
a skip, is a row in setup_steps. The guide shows to admins until every step is settled or
an admin hides it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from .. import audit_log
from ..extensions import db
from ..models import BatchJob, ExternalFolder, NotificationConfig, SetupStep, User

STEPS = (
    {
        "id": "folder",
        "label": _l("Add a folder"),
        "help": _l(
            "Where the recordings arrive: a folder on this server or a cloud bucket. Test the connection before "
            "you save it."
        ),
    },
    {
        "id": "speech",
        "label": _l("Choose the speech engine"),
        "help": _l(
            "How recordings become text. Pick a preset: Test speech transcribes a sample call with a speech "
            "model; Save and continue settles the step (transcripts from the phone system need no test)."
        ),
    },
    {
        "id": "notify",
        "label": _l("Add a notification channel (optional)"),
        "optional": True,
        "help": _l("E-mail, Slack, SMS or a webhook when a batch finishes or files fail; Send test checks it."),
    },
    {
        "id": "preview",
        "label": _l("Preview the first scan"),
        "help": _l("A dry run: which recordings the first scan would queue, which it would skip and why."),
    },
    {
        "id": "start",
        "label": _l("Start the first batch"),
        "help": _l("Scan the folder: its recordings are transcribed and scored, and the job shows the progress."),
    },
)
IDS = tuple(s["id"] for s in STEPS)
GUIDE = "guide"  # the row that hides the whole guide
DONE, SKIPPED, TODO, DISMISSED = "done", "skipped", "todo", "dismissed"


def progress() -> dict[str, Any]:
    """{"steps": [{id, label, help, optional, state: done|skipped|todo}], "left": [...],
    "next": the first step not done or skipped, "settled", "dismissed", "done_count"}."""
    marks = dict(db.session.execute(sa.select(SetupStep.step, SetupStep.state)).all())
    facts = _facts()
    steps = []
    for step in STEPS:
        state = DONE if facts.get(step["id"]) or marks.get(step["id"]) == DONE else marks.get(step["id"]) or TODO
        steps.append({**step, "optional": step.get("optional", False), "state": state})
    left = [s for s in steps if s["state"] != DONE and not (s["optional"] and s["state"] == SKIPPED)]
    return {
        "steps": steps,
        "left": left,
        "next": next((s for s in steps if s["state"] == TODO), None),
        "settled": not left,
        "dismissed": marks.get(GUIDE) == DISMISSED,
        "done_count": sum(1 for s in steps if s["state"] == DONE),
    }


def _facts():
    def exists(model):
        return db.session.scalar(sa.select(model.id).limit(1)) is not None

    ran = exists(BatchJob)
    return {"folder": exists(ExternalFolder), "notify": exists(NotificationConfig), "preview": ran, "start": ran}


def shown() -> bool:
    """Whether the dashboard shows the guide's box (to an admin): not hidden, something left."""
    state = progress()
    return not state["dismissed"] and not state["settled"]


def step(step_id: str) -> dict[str, Any] | None:
    return next((s for s in progress()["steps"] if s["id"] == step_id), None)


def following(step_id: str) -> str | None:
    """The step after `step_id` (None after the last)."""
    index = IDS.index(step_id)
    return IDS[index + 1] if index + 1 < len(IDS) else None


def mark(step_id: str, state: str | None, user: User | None = None) -> None:
    """Set a step's mark (done | skipped), or with state None remove it (resume)."""
    if step_id not in IDS + (GUIDE,):
        raise ValueError(step_id)
    row = db.session.get(SetupStep, step_id)
    before = row.state if row else None
    if before == state:
        return
    if state is None:
        db.session.delete(row)
    elif row is None:
        db.session.add(SetupStep(step=step_id, state=state))
    else:
        row.state = state
    audit_log.record(
        "setup." + (state or "resume"),
        ("setup_step", step_id),
        before={"state": before},
        after={"state": state},
        user=user,
    )
    db.session.commit()


def skip(step_id: str, user: User | None = None) -> None:
    mark(step_id, SKIPPED, user)


def resume(step_id: str, user: User | None = None) -> None:
    """Take a skipped step up again (its mark goes; a step the data answers stays done)."""
    row = db.session.get(SetupStep, step_id)
    if row is not None and row.state == SKIPPED:
        mark(step_id, None, user)


def dismiss(user: User | None = None) -> None:
    mark(GUIDE, DISMISSED, user)


def speech_tested(result: dict[str, Any], user: User | None = None) -> None:
    """A Test speech that gave text settles the speech step (the sidecar transcriber has no
    speech engine to test: saving it from the guide settles the step)."""
    if result.get("ok"):
        mark("speech", DONE, user)


def speech_saved(before: dict[str, Any] | None, after: dict[str, Any] | None, user: User | None = None) -> None:
    """Saving settings with another transcriber than before is choosing the speech engine."""
    if before != after:
        mark("speech", DONE, user)
