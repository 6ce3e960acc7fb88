"""The pydantic models that validate API requests. The OpenAPI document is generated from
these same models (webapp.api.registry), so what is documented is what is enforced.

Request bodies forbid unknown fields; query strings ignore unknown parameters."""

from datetime import date
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints
from typing_extensions import Annotated

from ..analysis.diarizers import DIARIZERS
from ..analysis.quality import VERDICTS
from ..analysis.scorers import SCORERS
from ..analysis.transcribers import TRANSCRIBERS
from ..batch.status import STATUSES
from ..errors import CODES
from ..models.folder import DEFAULT_EXTENSIONS
from ..models.job import STATUSES as JOB_STATUSES
from ..notifications import NOTIFIERS
from ..notifications.conditions import CONDITIONS
from ..providers.monitors import MONITORS
from ..providers.storage import STORAGE
from ..timetable import PROCESS_MODES

MB = 1024 * 1024
MAX_ID = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
StorageType = Literal[tuple(STORAGE)]
MonitorType = Literal[tuple(MONITORS)]
ProcessMode = Literal[tuple(PROCESS_MODES)]
Clock = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
Cron = Annotated[str, StringConstraints(max_length=100)]
ChannelType = Literal[tuple(NOTIFIERS)]
Condition = Literal[tuple(CONDITIONS)]
ErrorCode = Literal[tuple(CODES)]
FileStatus = Literal[STATUSES]
Quality = Literal[VERDICTS]
JobStatus = Literal[JOB_STATUSES]
Extension = str  # checked by the folder service, as for the pages and the configuration import


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Query(BaseModel):
    model_config = ConfigDict(extra="ignore")


class PageQuery(Query):
    page: int = Field(1, ge=1, le=1_000_000, description="Page number, from 1.")
    per_page: int = Field(50, ge=1, le=500, description="Items per page (1–500).")


# -- folders ---------------------------------------------------------------------------------

STORAGE_HELP = "; ".join(
    f"{key}: " + ", ".join(f.name + (" (secret)" if f.kind == "secret" else "") for f in cls.fields)
    for key, cls in STORAGE.items()
)


class FolderAnalysis(Body):
    """The folder's own speech engine, speaker split and scorer, each checked by its provider; one left out
    (or null) uses the global setting. Sent on an update, it replaces the folder's choice whole."""

    transcriber: Optional[dict] = Field(
        None,
        description=(
            'A transcriber config, e.g. {"type": "faster_whisper", "model": "small"}. Types: '
            + ", ".join(TRANSCRIBERS)
            + "."
        ),
    )
    diarizer: Optional[dict] = Field(
        None,
        description=(
            'Who spoke, e.g. {"type": "channels", "agent_channel": "2"} (a two-channel recording\'s '
            "agent on the right channel). Types: " + ", ".join(DIARIZERS) + "; none transcribes as one channel."
        ),
    )
    scorer: Optional[dict] = Field(
        None,
        description=(
            "A scorer config. Types: " + ", ".join(SCORERS) + ". The folder's own scorecard: "
            '{"type": "rubric", "criteria": [...]} (the same shape as the global rubric).'
        ),
    )
    redact: Optional[StrictBool] = Field(
        None,
        description=(
            "Replace personal data in the folder's transcripts (Israeli ID, card, phone, e-mail and bank account "
            "numbers) with a label before they are stored, searched or scored."
        ),
    )


class FolderCreate(Body):
    """Scan interval, extensions and size limit left out take the global scanning defaults."""

    name: Name
    storage_type: StorageType
    storage_config: dict = Field(
        default_factory=dict,
        description=(
            "The storage provider's settings. Secrets are stored encrypted and shown masked; send a secret "
            "blank or masked to keep the stored one. Fields by type — " + STORAGE_HELP
        ),
    )
    monitor_type: MonitorType = Field(
        "polling",
        description=(
            "How files are found: polling (every scan_interval seconds), events (local file events), "
            "cloud_events (storage announcements), schedule (only at the cron_schedule times)."
        ),
    )
    scan_interval: Optional[int] = Field(
        None, description=("Seconds between periodic scans, 30–3600 (default: the global scanning default).")
    )
    cron_schedule: Optional[Cron] = Field(
        None, description="Scan times of the 'schedule' monitor, a cron expression in TIMEZONE, e.g. '0 2 * * *'."
    )
    process_mode: ProcessMode = Field(
        "immediate",
        description=(
            "When found files are processed: immediate, hold (until someone starts the job), window (inside "
            "window_start–window_end in TIMEZONE), cron (at the process_cron times)."
        ),
    )
    window_start: Optional[Clock] = Field(None, description="HH:MM the processing window opens, e.g. 20:00.")
    window_end: Optional[Clock] = Field(
        None, description="HH:MM it closes, e.g. 06:00 (before the start: across midnight)."
    )
    process_cron: Optional[Cron] = Field(None, description="Release times of the 'cron' processing, e.g. '0 22 * * *'.")
    allowed_extensions: Optional[list[Extension]] = Field(
        None,
        description=(
            "Up to 50 extensions of up to 10 letters and digits. "
            "Default: the global scanning default (" + " ".join(DEFAULT_EXTENSIONS) + " unless changed)."
        ),
    )
    max_file_size: Optional[int] = Field(
        None, ge=MB, le=2048 * MB, description=("Bytes (1 MB – 2 GB); default: the global scanning default.")
    )
    analysis_config: Optional[FolderAnalysis] = None
    enabled: bool = True


class FolderUpdate(Body):
    """Only the fields sent are changed."""

    name: Optional[Name] = None
    storage_type: Optional[StorageType] = None
    storage_config: Optional[dict] = None
    monitor_type: Optional[MonitorType] = None
    scan_interval: Optional[int] = None
    cron_schedule: Optional[Cron] = None
    process_mode: Optional[ProcessMode] = None
    window_start: Optional[Clock] = None
    window_end: Optional[Clock] = None
    process_cron: Optional[Cron] = None
    allowed_extensions: Optional[list[Extension]] = None
    max_file_size: Optional[int] = Field(None, ge=MB, le=2048 * MB)
    analysis_config: Optional[FolderAnalysis] = None
    enabled: Optional[bool] = None


class FolderTest(Body):
    """Storage settings to try before saving (a folder's stored secrets fill blanks)."""

    storage_type: StorageType
    storage_config: dict = Field(default_factory=dict)


class Announce(Body):
    files: list[Annotated[str, StringConstraints(min_length=1, max_length=1024)]] = Field(
        min_length=1, max_length=1000, description="Paths (object keys) of new recordings in the folder."
    )


# -- jobs ------------------------------------------------------------------------------------


class JobsQuery(PageQuery):
    status: Optional[JobStatus] = None
    folder_id: Optional[Id] = None


class JobCreate(Body):
    folder_id: Id = Field(description="The folder to scan now: its new files become the job.")


class JobRollback(Body):
    requeue: bool = Field(True, description="Queue the re-opened files again (else leave them cancelled).")


# -- files -----------------------------------------------------------------------------------


class FilesQuery(PageQuery):
    status: Optional[FileStatus] = None
    folder_id: Optional[Id] = None
    job_id: Optional[Id] = None
    error_code: Optional[Annotated[str, StringConstraints(max_length=40)]] = None
    quality: Optional[Quality] = Field(
        None, description="Only files whose call's transcript got this verdict (needs_review: score withheld)."
    )
    q: Optional[Annotated[str, StringConstraints(max_length=200)]] = Field(None, description="File name contains.")
    date_from: Optional[date] = Field(None, description="Found on or after this day (UTC).")
    date_to: Optional[date] = Field(None, description="Found on or before this day (UTC).")


class FilesRetry(Body):
    file_ids: list[Id] = Field(min_length=1, max_length=10000)


# -- notifications ---------------------------------------------------------------------------


class NotificationCreate(Body):
    name: Name
    type: ChannelType
    config: dict = Field(default_factory=dict, description="The channel's settings (secrets masked on output).")
    conditions: list[Condition] = Field(min_length=1, max_length=len(CONDITIONS))
    folder_ids: Optional[list[Id]] = Field(None, max_length=1000, description="Only these folders (null: all).")
    error_codes: Optional[list[ErrorCode]] = Field(None, max_length=len(CODES))
    cooldown_minutes: int = Field(10, ge=0, le=1440)
    stall_minutes: int = Field(30, ge=1, le=1440)
    enabled: bool = True
    language: Optional[Literal["en", "he"]] = Field(
        None, description="The language of its messages (null: the installation's, CALLBATCH_LANGUAGE)."
    )


class NotificationUpdate(Body):
    name: Optional[Name] = None
    type: Optional[ChannelType] = None
    config: Optional[dict] = None
    conditions: Optional[list[Condition]] = Field(None, min_length=1, max_length=len(CONDITIONS))
    folder_ids: Optional[list[Id]] = Field(None, max_length=1000)
    error_codes: Optional[list[ErrorCode]] = Field(None, max_length=len(CODES))
    cooldown_minutes: Optional[int] = Field(None, ge=0, le=1440)
    stall_minutes: Optional[int] = Field(None, ge=1, le=1440)
    enabled: Optional[bool] = None
    language: Optional[Literal["en", "he"]] = None


class DeliveriesQuery(Query):
    status: Optional[Literal["pending", "sent", "failed", "suppressed"]] = None
    limit: int = Field(100, ge=1, le=500)
    before_id: Optional[Id] = Field(None, description="Page back: the last id of the previous page.")


# -- calls and customers ---------------------------------------------------------------------

Text200 = Annotated[str, StringConstraints(max_length=200)]
Score = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]
Day = Annotated[date, Field(ge=date(1970, 1, 1), le=date(2999, 12, 31))]


class CallsFilter(Query):
    """The filters of the calls list and its export (services.calls.calls_query)."""

    q: Optional[Text200] = Field(
        None,
        description=(
            "Words said in the call, all of them (a word also finds its forms with the prefixes ו ה ב ל מ ש כ and "
            "longer words it begins; on PostgreSQL also near spellings), or the beginning of a call id (8 characters "
            "or more)."
        ),
    )
    agent: Optional[Text200] = Field(None, description="The agent's name contains this.")
    customer: Optional[Text200] = Field(None, description="The customer's name, phone or external id contains this.")
    customer_id: Optional[Id] = None
    job_id: Optional[Id] = None
    unassigned: bool = False
    tracker: Optional[Id] = Field(None, description="Only calls in which this tracker's phrases were heard.")
    quality: Optional[Quality] = Field(
        None, description="Only calls whose transcript got this verdict (needs_review: score withheld)."
    )
    score_min: Optional[Score] = Field(None, description="Overall score at least this (0–100).")
    score_max: Optional[Score] = Field(None, description="Overall score at most this (0–100).")
    criterion_failed: Optional[Annotated[str, StringConstraints(max_length=100)]] = Field(
        None, description=("A scorecard criterion id (e.g. closing) whose points the call did not earn.")
    )
    date_from: Optional[Day] = Field(None, description="Called on or after this day (UTC).")
    date_to: Optional[Day] = Field(None, description="Called on or before this day (UTC).")

    def filters(self):
        return {
            k: v
            for k, v in self.model_dump().items()
            if k in CallsFilter.model_fields and v is not None and v != "" and v is not False
        }


class CallsQuery(CallsFilter, PageQuery):
    pass


class CallsExportQuery(CallsFilter):
    format: Literal["csv", "json"] = Field("csv", description="csv (UTF-8 with BOM, for Excel) or json (an array).")


class CallQuery(Query):
    q: Optional[Text200] = Field(None, description="Words to find: the answer's `hits` are the segments saying them.")


class CallAssign(Body):
    customer_id: Optional[Id] = Field(
        None, description="An existing customer; null (and no new_customer) unassigns the call."
    )
    new_customer: Optional["NewCustomer"] = None


class NewCustomer(Body):
    name: Optional[Annotated[str, StringConstraints(max_length=200)]] = None
    phone: Optional[Annotated[str, StringConstraints(max_length=32)]] = None
    external_id: Optional[Annotated[str, StringConstraints(max_length=100)]] = None


CallAssign.model_rebuild()


class CustomersQuery(PageQuery):
    q: Optional[Annotated[str, StringConstraints(max_length=200)]] = Field(None, description="Name, phone or id.")


# -- tokens and status -----------------------------------------------------------------------


class TokenCreate(Body):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    expires_in_days: Optional[int] = Field(None, ge=1, le=3650)


class EventsQuery(Query):
    token: Optional[Annotated[str, StringConstraints(max_length=200)]] = Field(
        None, description="The receivers' shared secret (CALLBATCH_EVENTS_TOKEN)."
    )


class HookQuery(Query):
    token: Optional[Annotated[str, StringConstraints(max_length=200)]] = Field(
        None, description="The folder's webhook secret (or sign the body: X-Callbatch-Signature)."
    )


# -- trackers and the per-agent report -------------------------------------------------------

Phrase = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class TrackerCreate(Body):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    phrases: list[Phrase] = Field(
        min_length=1,
        max_length=100,
        description=(
            "Words or phrases to count, matched like the scorecard's: Hebrew prefixes (ו ה ש ל ב כ מ), final letters "
            "and common endings do not matter; 'הנח*' allows up to three more letters."
        ),
    )


class TrackerUpdate(Body):
    name: Optional[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]] = None
    phrases: Optional[list[Phrase]] = Field(None, min_length=1, max_length=100)


class AgentsQuery(Query):
    date_from: Optional[Annotated[str, StringConstraints(max_length=10)]] = Field(
        None, description="First day (YYYY-MM-DD, UTC); default: 28 days before date_to."
    )
    date_to: Optional[Annotated[str, StringConstraints(max_length=10)]] = Field(
        None, description="Last day (YYYY-MM-DD, UTC); default: today."
    )
    folder_id: Optional[Id] = None
