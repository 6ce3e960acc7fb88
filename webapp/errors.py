"""The project's typed errors and the codes a manager sees.

Providers and analysis raise these; the batch pipeline turns them into a skipped or failed
file with the code, the category and a sentence a manager understands.
"""

from flask_babel import lazy_gettext as _l

# Failure categories
FILE_ACCESS = "file_access"
FILE_FORMAT = "file_format"
PROCESSING = "processing"
DATABASE = "database"
SYSTEM = "system"

# code: (category, plain explanation, suggested fix)
CODES = {
    "INVALID_FILENAME": (
        FILE_FORMAT,
        _l(
            "The file name is not a call ID. Recordings must be named <uuid>.<extension>, "
            "for example 3f2b8c1e-7a4d-4e2b-9c1f-0a1b2c3d4e5f.mp3."
        ),
        _l("Rename the file to its call's UUID and scan again."),
    ),
    "INVALID_FORMAT": (
        FILE_FORMAT,
        _l("The file type is not an accepted audio format for this folder."),
        _l("Convert it to mp3, wav, m4a, aac or ogg, or add its extension to the folder's allowed list."),
    ),
    "FILE_TOO_LARGE": (
        FILE_FORMAT,
        _l("The recording is larger than this folder's size limit."),
        _l("Raise the folder's maximum file size (up to 2 GB) or split the recording."),
    ),
    "ACCESS_DENIED": (
        FILE_ACCESS,
        _l("Callbatch is not allowed to read this file."),
        _l("Give the Callbatch service account read permission on the file or bucket, then retry."),
    ),
    "CORRUPTED_FILE": (
        FILE_FORMAT,
        _l("The file is empty or damaged: no audio could be read from it."),
        _l("Export the recording again from the phone system and replace the file."),
    ),
    "DUPLICATE_FILE": (
        FILE_FORMAT,
        _l("The same recording (identical content) was already processed under another name."),
        _l("Nothing to do: the earlier copy holds the call. Remove the extra file if you wish."),
    ),
    "FILE_NOT_FOUND": (
        FILE_ACCESS,
        _l("The file was removed or renamed before Callbatch could read it."),
        _l("Put the file back in the folder, or ignore this if it was removed on purpose."),
    ),
    "STORAGE_UNAVAILABLE": (
        FILE_ACCESS,
        _l("The folder's storage could not be reached."),
        _l("Check the folder's connection (Test connection) and the network; the file is retried."),
    ),
    "INVALID_CREDENTIALS": (
        FILE_ACCESS,
        _l("The cloud service rejected the folder's credentials (unknown key, wrong secret or expired token)."),
        _l("Enter valid credentials in the folder's settings and use Test connection; the file is retried."),
    ),
    "BUCKET_NOT_FOUND": (
        FILE_ACCESS,
        _l("The folder's bucket or container does not exist (or belongs to another account)."),
        _l("Check the bucket or container name in the folder's settings and use Test connection."),
    ),
    "TRANSCRIPTION_FAILED": (
        PROCESSING,
        _l("The speech-to-text step failed for this recording."),
        _l(
            "When the message names a fix (a speech model to install, a transcript to deliver, a setting to "
            "correct), make it and retry the file; otherwise it is usually temporary and retried automatically."
        ),
    ),
    "SCORING_FAILED": (
        PROCESSING,
        _l("The call could not be scored."),
        _l("Check the scorer settings; the file is retried."),
    ),
    "DATABASE_ERROR": (
        DATABASE,
        _l("The database was unreachable while saving the result."),
        _l("Usually temporary; the file is retried automatically."),
    ),
    "WORKER_LOST": (
        SYSTEM,
        _l("The worker processing this file stopped responding (it was restarted or lost its connection)."),
        _l("Nothing to do: the file is picked up again automatically."),
    ),
    "INTERNAL_ERROR": (
        SYSTEM,
        _l("An unexpected error stopped the processing of this file."),
        _l("The file is retried; if it keeps failing, send the error details to your administrator."),
    ),
    "TARGET_REFUSED": (
        FILE_ACCESS,
        _l(
            "The folder's storage address leads into the server's own network (loopback, private or cloud "
            "metadata addresses), so Callbatch refused to connect to it."
        ),
        _l(
            "Use the storage service's public address, or ask the administrator to set "
            "CALLBATCH_ALLOW_PRIVATE_TARGETS for an on-premises service."
        ),
    ),
    "BACKUP_FAILED": (
        SYSTEM,
        _l("A backup could not be made, checked or restored."),
        _l("Read the message for the cause; the database itself was not changed."),
    ),
    "TIMEOUT": (
        SYSTEM,
        _l("The file took longer than the time a worker may spend on one file, so its processing was stopped."),
        _l("The file is retried; if it keeps timing out, ask the administrator to raise CALLBATCH_FILE_JOB_TIMEOUT."),
    ),
    "DISK_FULL": (
        SYSTEM,
        _l("The worker had no room on its disk to download the file."),
        _l("The file waits and is retried; free space in the workers' download directory."),
    ),
}


def explain(code):
    """(category, explanation, fix) for a code, in the current language; unknown codes get a
    neutral sentence."""
    category, explanation, fix = CODES.get(code, (SYSTEM, _l("An error occurred."), _l("Retry the file.")))
    return category, str(explanation), str(fix)


def technical(exc):
    """The technical detail of an exception, kept in an error's details for the admins."""
    return f"{type(exc).__name__}: {exc}"


# Codes that no retry can cure, whatever raised them: a person must act first.
NOT_RETRIED = ("ACCESS_DENIED",)


class CallbatchError(Exception):
    """An error with a project code. `message` is the specific sentence for this file, plain
    enough for a manager; technical detail (exception text, paths, errno) goes in `details`.
    `retryable`: whether trying the same file again, unchanged, can succeed."""

    code = "INTERNAL_ERROR"
    retryable = True

    def __init__(self, message=None, code=None, details=None, retryable=None):
        if code:
            self.code = code
        self.message = message or explain(self.code)[1]
        self.details = details or {}
        if retryable is not None:
            self.retryable = retryable
        elif self.code in NOT_RETRIED:
            self.retryable = False
        super().__init__(self.message)

    @property
    def category(self):
        return explain(self.code)[0]


class SkipFile(CallbatchError):
    """The file is not a recording Callbatch can take: it is skipped, not retried."""

    retryable = False


class FileAccessError(CallbatchError):
    code = "STORAGE_UNAVAILABLE"


class ProcessingError(CallbatchError):
    code = "TRANSCRIPTION_FAILED"


class TranscriptMissing(ProcessingError):
    """No transcript beside the recording: only its delivery (or another transcriber) helps."""

    retryable = False


class ModelUnavailable(ProcessingError):
    """The speech model is neither installed nor downloadable: it takes a person to fix."""

    retryable = False


class ConfigError(Exception):
    """A provider's configuration is wrong; carries the list of messages."""

    def __init__(self, messages):
        self.messages = list(messages)
        super().__init__("; ".join(self.messages))


class WorkerStopping(BaseException):
    """The worker was asked to stop and its grace period ran out mid-file: the file goes
    back to the queue. A BaseException, so no `except Exception` on the way swallows it."""
