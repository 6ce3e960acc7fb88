"""The batch settings (webapp/batch/batch_config.py) by the words a page shows for them; the keys
themselves are what the configuration document and the API use."""

from flask_babel import lazy_gettext as _l

LABELS = {
    "analysis": _l("Analysis"),
    "backup": _l("Daily backup"),
    "backup.enabled": _l("Make a backup every day"),
    "backup.hour": _l("After this hour"),
    "backup.destination": _l("Destination (a directory or s3://bucket/prefix; empty: instance/backups)"),
    "backup.keep": _l("Backups kept"),
    "processing": _l("Processing"),
    "processing.maxConcurrentFiles": _l("Files processed at once"),
    "processing.autoStart": _l("Folders are watched and scanned on their own"),
    "processing.backgroundProcessing": _l("Periodic and scheduled scans run"),
    "processing.immediateProcessing": _l("Files are queued as soon as they are found"),
    "processing.paused": _l("Processing paused"),
    "retryPolicy": _l("Retries"),
    "retryPolicy.enabled": _l("Retry failed files automatically"),
    "retryPolicy.maxRetries": _l("Retries per file"),
    "retryPolicy.delaySeconds": _l("Delay before a retry (seconds)"),
    "retryPolicy.exponentialBackoff": _l("Double the delay at each retry"),
    "scanning": _l("Scanning"),
    "scanning.scanInterval": _l("Scan interval (seconds)"),
    "scanning.maxFileSize": _l("Largest file (bytes)"),
    "scanning.allowedExtensions": _l("Accepted extensions (separated by spaces)"),
    "scanning.fileSettleSeconds": _l("A file is left alone while it changed within (seconds)"),
}


def setting_label(path):
    return str(LABELS[path]) if path in LABELS else path
