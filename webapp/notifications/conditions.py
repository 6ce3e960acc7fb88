"""When a notification fires, which configs it concerns, and the words it is told in."""

from collections import Counter

from flask import current_app
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..errors import explain
from .base import Message

FILE_FAILED = "file_failed"
RETRIES_EXHAUSTED = "retries_exhausted"
FILE_SKIPPED = "file_skipped"
BATCH_COMPLETED = "batch_completed"
BATCH_FAILED = "batch_failed"
FOLDER_UNREACHABLE = "folder_unreachable"
PROCESSING_STALLED = "processing_stalled"
RESOURCES_LOW = "resources_low"
CALL_COMPLETED = "call_completed"
NEEDS_REVIEW = "needs_review"

# condition: (label for forms, what a digest says happened, severity)
CONDITIONS = {
    FILE_FAILED: (_l("A file failed (every failed attempt, retried or not)"), _l("files failed"), "error"),
    RETRIES_EXHAUSTED: (_l("A file failed for good (no retry left)"), _l("files failed for good"), "error"),
    FILE_SKIPPED: (_l("A file was skipped (damaged, wrong format, …)"), _l("files were skipped"), "warning"),
    BATCH_COMPLETED: (_l("A batch finished without failed files"), _l("batches finished"), "info"),
    BATCH_FAILED: (_l("A batch finished with failed files"), _l("batches finished with failures"), "error"),
    FOLDER_UNREACHABLE: (_l("A folder cannot be reached"), _l("folder outages"), "error"),
    PROCESSING_STALLED: (_l("Nothing finished for a while although files are queued"), _l("stall alerts"), "warning"),
    RESOURCES_LOW: (_l("A worker ran short of disk space for downloads"), _l("low-disk alerts"), "error"),
    CALL_COMPLETED: (_l("A call was filed, with its scorecard (for a CRM)"), _l("calls filed"), "info"),
    NEEDS_REVIEW: (
        _l("A call's transcript is unreliable: filed without a score (needs review)"),
        _l("calls need review"),
        "warning",
    ),
}
FILE_CONDITIONS = (FILE_FAILED, RETRIES_EXHAUSTED, FILE_SKIPPED)


def language(config):
    """The language a channel's messages are written in: its own, else the installation's."""
    return getattr(config, "language", None) or current_app.config["LANGUAGE"]


def matches(config, event):
    """Whether an enabled config wants to hear about an event."""
    if event["condition"] not in (config.conditions or []):
        return False
    if event.get("config_id") and event["config_id"] != config.id:
        return False
    if config.folder_ids and event.get("folder_id") and event["folder_id"] not in config.folder_ids:
        return False
    if (
        config.error_codes
        and event["condition"] in FILE_CONDITIONS
        and event.get("error_code") not in config.error_codes
    ):
        return False
    return True


def message(event, locale="en"):
    """The message for one event, written in `locale`."""
    with force_locale(locale):
        render = RENDER[event["condition"]]
        title, text, facts, links = render(event)
        return Message(
            condition=event["condition"],
            title=title,
            text=text,
            facts=facts,
            links=links,
            events=[event],
            severity=CONDITIONS[event["condition"]][2],
        )


def digest(condition, events, minutes, locale="en"):
    """One message for the events gathered during a cooldown window, e.g. "12 files failed in
    Production Calls in the last 10 minutes: 9 CORRUPTED_FILE, 3 TRANSCRIPTION_FAILED"."""
    with force_locale(locale):
        title = _digest_title(str(CONDITIONS[condition][1]), events, minutes)
        if condition in FILE_CONDITIONS:
            breakdown = Counter(e.get("error_code") or "unknown" for e in events)
        else:
            breakdown = Counter(e.get("folder_name") or _("all folders") for e in events)
        text = title + ": " + ", ".join(f"{n} {key}" for key, n in breakdown.most_common()) + "."
        facts = [[_("Examples"), ", ".join(e.get("file_name") or e.get("folder_name") or "" for e in events[:5])]]
        return Message(
            condition=condition,
            title=title,
            text=text,
            facts=facts,
            links=[_digest_link(condition, events)],
            events=events,
            severity=CONDITIONS[condition][2],
        )


def _digest_title(what, events, minutes):
    """How many events of a kind, in which folder(s), over how many minutes."""
    folders = sorted({e["folder_name"] for e in events if e.get("folder_name")})
    if len(folders) == 1:
        return _(
            "%(count)d %(what)s in %(folder)s in the last %(minutes)d minutes",
            count=len(events),
            what=what,
            folder=folders[0],
            minutes=minutes,
        )
    if folders:
        return _(
            "%(count)d %(what)s in %(folders)d folders in the last %(minutes)d minutes",
            count=len(events),
            what=what,
            folders=len(folders),
            minutes=minutes,
        )
    return _("%(count)d %(what)s in the last %(minutes)d minutes", count=len(events), what=what, minutes=minutes)


def _digest_link(condition, events):
    """The page that lists what the digest counts (one folder's files when they share one)."""
    if condition in FILE_CONDITIONS:
        folder_ids = {e.get("folder_id") for e in events}
        folder_query = f"&folder={folder_ids.pop()}" if len(folder_ids) == 1 and None not in folder_ids else ""
        status = {FILE_SKIPPED: "skipped"}.get(condition, "failed")
        return [_("Open the files"), url(f"/files?status={status}{folder_query}")]
    if condition == NEEDS_REVIEW:
        return [_("Open the calls that need review"), url("/calls/?quality=needs_review")]
    if condition == CALL_COMPLETED:
        return [_("Open the calls"), url("/calls/")]
    return [_("Open the jobs"), url("/jobs")]


def url(path):
    return current_app.config.get("BASE_URL", "") + path


def _file_facts(event):
    code = event.get("error_code") or "unknown"
    return [
        [_("File"), event.get("file_name", "")],
        [_("Folder"), event.get("folder_name", "")],
        [_("Error"), code],
        [_("What to do"), str(explain(code)[2])],
    ]


def _file_links(event):
    links = [[_("Open the file"), url(f"/files/{event['file_id']}")]]
    if event.get("job_id"):
        links.append([_("Open the job"), url(f"/jobs/{event['job_id']}")])
    return links


def _said(event):
    """The event's own sentence, in the reader's language when the catalogue has it."""
    said = event.get("message")
    return _(said) if said else ""


def _file_failed(event):
    then = _("No retry is left.") if event.get("final") else _("It will be retried automatically.")
    title = _("File failed: %(file)s (%(code)s)", file=event.get("file_name"), code=event.get("error_code"))
    return title, f"{_said(event)} {then}".strip(), _file_facts(event), _file_links(event)


def _retries_exhausted(event):
    title = _("File failed for good: %(file)s (%(code)s)", file=event.get("file_name"), code=event.get("error_code"))
    text = (
        _said(event)
        + " "
        + ngettext(
            "It failed after %(num)d attempt; no retry is left.",
            "It failed after %(num)d attempts; no retry is left.",
            event.get("attempts") or 1,
        )
    )
    return title, text.strip(), _file_facts(event), _file_links(event)


def _file_skipped(event):
    title = _("File skipped: %(file)s (%(code)s)", file=event.get("file_name"), code=event.get("error_code"))
    return title, _said(event), _file_facts(event), _file_links(event)


def _batch(event):
    counts = event.get("counts", {})
    summary = _(
        "%(processed)d completed, %(failed)d failed, %(skipped)d skipped, %(cancelled)d cancelled of %(total)d files.",
        processed=counts.get("processed", 0),
        failed=counts.get("failed", 0),
        skipped=counts.get("skipped", 0),
        cancelled=counts.get("cancelled", 0),
        total=counts.get("total", 0),
    )
    folder = event.get("folder_name") or _("a removed folder")
    if event["condition"] == BATCH_FAILED:
        title = _("Batch #%(job)s in %(folder)s finished with failed files", job=event["job_id"], folder=folder)
    else:
        title = _("Batch #%(job)s in %(folder)s finished", job=event["job_id"], folder=folder)
    facts = [[_("Folder"), event.get("folder_name", "")], [_("Files"), str(counts.get("total", 0))]]
    return title, summary, facts, [[_("Open the job"), url(f"/jobs/{event['job_id']}")]]


def _folder_unreachable(event):
    title = _("Folder unreachable: %(folder)s", folder=event.get("folder_name"))
    text = _("Callbatch could not list the folder: %(reason)s", reason=_said(event) or _("no reason given"))
    return (
        title,
        text,
        [[_("Folder"), event.get("folder_name", "")]],
        [[_("Open the folder"), url(f"/folders/{event['folder_id']}")]],
    )


def _processing_stalled(event):
    title = _("Processing stalled: nothing finished for %(minutes)s minutes", minutes=event.get("minutes"))
    text = _(
        "%(waiting)s file(s) are queued but no file has finished since %(since)s. Check that the workers are running.",
        waiting=event.get("waiting"),
        since=event.get("since"),
    )
    return title, text, [[_("Queued files"), str(event.get("waiting"))]], [[_("Open the dashboard"), url("/")]]


def _resources_low(event):
    title = _("Worker short of disk space: %(worker)s", worker=event.get("worker"))
    text = _(
        "%(worker)s has %(free)s free in %(directory)s but needs %(needed)s to download %(file)s; the file "
        "waits and is retried. Free space in the workers' download directory.",
        worker=event.get("worker"),
        free=_mb(event.get("free_bytes")),
        directory=event.get("directory"),
        needed=_mb(event.get("needed_bytes")),
        file=event.get("file_name"),
    )
    facts = [
        [_("Worker"), event.get("worker", "")],
        [_("Directory"), event.get("directory", "")],
        [_("Folder"), event.get("folder_name", "")],
    ]
    return title, text, facts, [[_("Open the workers"), url("/workers")]]


def _call_completed(event):
    score = event.get("overall_score")
    shown = _("no score") if score is None else _("score %(score)s", score=f"{score:g}")
    who = event.get("agent") or _("unknown agent")
    title = _("Call filed: %(call)s (%(score)s)", call=event.get("call_uuid"), score=shown)
    text = _(
        "%(agent)s with %(customer)s: %(score)s.",
        agent=who,
        customer=event.get("customer") or _("an unknown customer"),
        score=shown,
    )
    facts = [
        [_("Agent"), who],
        [_("Customer"), event.get("customer") or ""],
        [_("Score"), "" if score is None else f"{score:g}"],
    ]
    facts += [
        [crit.get("label") or crit.get("id") or "", _("n/a") if crit.get("score") is None else f"{crit['score']:g}"]
        for crit in event.get("criteria") or []
    ]
    return title, text, facts, [[_("Open the call"), url(f"/calls/{event['call_id']}")]]


def _needs_review(event):
    reasons = ", ".join(event.get("reasons") or []) or _("unreliable transcript")
    title = _("Call needs review: %(file)s", file=event.get("file_name"))
    text = _(
        "The transcript of %(file)s is unreliable (%(reasons)s), so the call was filed without a score. "
        "Listen to the recording and review it.",
        file=event.get("file_name"),
        reasons=reasons,
    )
    facts = [
        [_("File"), event.get("file_name", "")],
        [_("Folder"), event.get("folder_name", "")],
        [_("Reasons"), reasons],
    ]
    return title, text, facts, _file_links(event)


def _mb(size):
    return f"{(size or 0) / 2**20:.1f} MB"


RENDER = {
    FILE_FAILED: _file_failed,
    RETRIES_EXHAUSTED: _retries_exhausted,
    FILE_SKIPPED: _file_skipped,
    BATCH_COMPLETED: _batch,
    BATCH_FAILED: _batch,
    FOLDER_UNREACHABLE: _folder_unreachable,
    PROCESSING_STALLED: _processing_stalled,
    RESOURCES_LOW: _resources_low,
    CALL_COMPLETED: _call_completed,
    NEEDS_REVIEW: _needs_review,
}
