"""What the batch layer announces. The app factory connects the listeners of the layers above
(live status in services.live, notifications in notifications.events), so batch never
imports them. Listeners run inside the sender's transaction: they note what to do after the
commit, and nothing they do may fail the file."""

from blinker import Namespace

_signals = Namespace()

# A file's status changed through the status machine. Sender: the record; keywords: frm, to, details.
status_changed = _signals.signal("status-changed")
# A scan recorded a file as skipped in bulk, beside the status machine. Same arguments.
skipped_on_scan = _signals.signal("skipped-on-scan")
# A job's counters moved. Sender: the job row as the counter UPDATE … RETURNING gave it back.
job_counted = _signals.signal("job-counted")
# A job finished (completed, with errors or not). Sender: the job's id.
job_finished = _signals.signal("job-finished")
# A worker lacks disk space for a download. Sender: the folder; keywords: worker, directory,
# free_bytes, needed_bytes, file_name.
disk_short = _signals.signal("disk-short")
# A recording was filed as a call (still inside its transaction). Sender: the call; keywords:
# record, customer (or None).
call_filed = _signals.signal("call-filed")
