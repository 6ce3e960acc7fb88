"""When a notification fires, which configs it concerns, and the words it is told in."""
from collections import Counter

from flask import current_app

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

# condition: (label for forms, what a digest says happened, severity)
CONDITIONS = {
    FILE_FAILED: ("A file failed (every failed attempt, retried or not)", "files failed", "error"),
    RETRIES_EXHAUSTED: ("A file failed for good (no retry left)", "files failed for good", "error"),
    FILE_SKIPPED: ("A file was skipped (damaged, wrong format, …)", "files were skipped", "warning"),
    BATCH_COMPLETED: ("A batch finished without failed files", "batches finished", "info"),
    BATCH_FAILED: ("A batch finished with failed files", "batches finished with failures", "error"),
    FOLDER_UNREACHABLE: ("A folder cannot be reached", "folder outages", "error"),
    PROCESSING_STALLED: ("Nothing finished for a while although files are queued", "stall alerts", "warning"),
    RESOURCES_LOW: ("A worker ran short of disk space for downloads", "low-disk alerts", "error"),
}
FILE_CONDITIONS = (FILE_FAILED, RETRIES_EXHAUSTED, FILE_SKIPPED)


def matches(config, event):
    """Whether an enabled config wants to hear about an event."""
    if event["condition"] not in (config.conditions or []):
        return False
    if event.get("config_id") and event["config_id"] != config.id:
        return False
    if config.folder_ids and event.get("folder_id") and event["folder_id"] not in config.folder_ids:
        return False
    if (config.error_codes and event["condition"] in FILE_CONDITIONS
            and event.get("error_code") not in config.error_codes):
        return False
    return True


def message(event):
    """The message for one event."""
    render = RENDER[event["condition"]]
    title, text, facts, links = render(event)
    return Message(condition=event["condition"], title=title, text=text, facts=facts, links=links,
                   events=[event], severity=CONDITIONS[event["condition"]][2])


def digest(condition, events, minutes):
    """One message for the events gathered during a cooldown window, e.g. "12 files failed in
    Production Calls in the last 10 minutes: 9 CORRUPTED_FILE, 3 TRANSCRIPTION_FAILED"."""
    what = CONDITIONS[condition][1]
    folders = sorted({e["folder_name"] for e in events if e.get("folder_name")})
    where = f" in {folders[0]}" if len(folders) == 1 else (f" in {len(folders)} folders" if folders else "")
    title = f"{len(events)} {what}{where} in the last {minutes} minutes"
    if condition in FILE_CONDITIONS:
        breakdown = Counter(e.get("error_code") or "unknown" for e in events)
    else:
        breakdown = Counter(e.get("folder_name") or "all folders" for e in events)
    text = title + ": " + ", ".join(f"{n} {key}" for key, n in breakdown.most_common()) + "."
    facts = [["Examples", ", ".join(e.get("file_name") or e.get("folder_name") or "" for e in events[:5])]]
    folder_ids = {e.get("folder_id") for e in events}
    folder_query = f"&folder={folder_ids.pop()}" if len(folder_ids) == 1 and None not in folder_ids else ""
    status = {FILE_SKIPPED: "skipped"}.get(condition, "failed")
    link = (["Open the files", url(f"/files?status={status}{folder_query}")] if condition in FILE_CONDITIONS
            else ["Open the jobs", url("/jobs")])
    return Message(condition=condition, title=title, text=text, facts=facts, links=[link], events=events,
                   severity=CONDITIONS[condition][2])


def url(path):
    return current_app.config.get("BASE_URL", "") + path


def _file_facts(event):
    code = event.get("error_code") or "unknown"
    return [["File", event.get("file_name", "")], ["Folder", event.get("folder_name", "")], ["Error", code],
            ["What to do", explain(code)[2]]]


def _file_links(event):
    links = [["Open the file", url(f"/files/{event['file_id']}")]]
    if event.get("job_id"):
        links.append(["Open the job", url(f"/jobs/{event['job_id']}")])
    return links


def _file_failed(event):
    then = "No retry is left." if event.get("final") else "It will be retried automatically."
    title = f"File failed: {event.get('file_name')} ({event.get('error_code')})"
    return title, f"{event.get('message', '')} {then}".strip(), _file_facts(event), _file_links(event)


def _retries_exhausted(event):
    title = f"File failed for good: {event.get('file_name')} ({event.get('error_code')})"
    text = f"{event.get('message', '')} It failed after {event.get('attempts') or 1} attempt(s); no retry is left."
    return title, text, _file_facts(event), _file_links(event)


def _file_skipped(event):
    title = f"File skipped: {event.get('file_name')} ({event.get('error_code')})"
    return title, event.get("message", ""), _file_facts(event), _file_links(event)


def _batch(event):
    counts = event.get("counts", {})
    summary = (f"{counts.get('processed', 0)} completed, {counts.get('failed', 0)} failed, "
               f"{counts.get('skipped', 0)} skipped, {counts.get('cancelled', 0)} cancelled "
               f"of {counts.get('total', 0)} files.")
    done = "finished with failed files" if event["condition"] == BATCH_FAILED else "finished"
    title = f"Batch #{event['job_id']} in {event.get('folder_name') or 'a removed folder'} {done}"
    facts = [["Folder", event.get("folder_name", "")], ["Files", str(counts.get("total", 0))]]
    return title, summary, facts, [["Open the job", url(f"/jobs/{event['job_id']}")]]


def _folder_unreachable(event):
    title = f"Folder unreachable: {event.get('folder_name')}"
    text = f"Callbatch could not list the folder: {event.get('message') or 'no reason given'}"
    return title, text, [["Folder", event.get("folder_name", "")]], [
        ["Open the folder", url(f"/folders/{event['folder_id']}")]]


def _processing_stalled(event):
    title = f"Processing stalled: nothing finished for {event.get('minutes')} minutes"
    text = (f"{event.get('waiting')} file(s) are queued but no file has finished since {event.get('since')}. "
            "Check that the workers are running.")
    return title, text, [["Queued files", str(event.get("waiting"))]], [["Open the dashboard", url("/")]]


def _resources_low(event):
    title = f"Worker short of disk space: {event.get('worker')}"
    text = (f"{event.get('worker')} has {_mb(event.get('free_bytes'))} free in {event.get('directory')} but needs "
            f"{_mb(event.get('needed_bytes'))} to download {event.get('file_name')}; the file waits and is retried. "
            "Free space in the workers' download directory.")
    facts = [["Worker", event.get("worker", "")], ["Directory", event.get("directory", "")],
             ["Folder", event.get("folder_name", "")]]
    return title, text, facts, [["Open the workers", url("/workers")]]


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
}
