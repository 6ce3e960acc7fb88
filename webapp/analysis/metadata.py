"""Facts about a call delivered with its recording: a sidecar `<uuid>.meta.json`
({"phone", "name", "external_id", "agent", "called_at"}) or a folder manifest
`manifest.csv` (uuid,phone,name,external_id,agent,called_at). Israeli phone numbers are
normalised to E.164."""

import csv
import io
import json
import re
from datetime import datetime, timezone

from ..errors import SkipFile
from ..providers.storage.base import MANIFEST

FIELDS = ("phone", "name", "external_id", "agent", "called_at")
ALIASES = {"customer_phone": "phone", "customer_name": "name", "customer_id": "external_id", "call_time": "called_at"}


def normalize_phone(raw, default_country="972"):
    """E.164 for a phone number as people write it; None when it is not a phone number.
    Israeli national numbers (0 + 8 or 9 digits) become +972…; other countries need + or 00."""
    if raw is None:
        return None
    text = str(raw).strip()
    if not text or re.search(r"[^\d\s\-+().]", text):
        return None
    digits = re.sub(r"\D", "", text)
    if text.startswith("+"):
        international = digits
    elif digits.startswith("00"):
        international = digits[2:]
    elif digits.startswith(default_country) and len(digits) in (11, 12):
        international = digits
    elif digits.startswith("0"):
        international = default_country + digits[1:]
    else:
        return None
    if international.startswith("972"):
        national = international[3:].lstrip("0")  # +972 (0)50… is written both ways
        if not _israeli(national):
            return None
        return "+972" + national
    if not 8 <= len(international) <= 15 or international.startswith("0"):
        return None
    return "+" + international


def _israeli(national):
    """Mobile 5X and 7X numbers have 9 digits; landlines 2,3,4,8,9 have 8."""
    if re.fullmatch(r"[57]\d{8}", national):
        return True
    return bool(re.fullmatch(r"[23489]\d{7}", national))


def read(companions):
    """(metadata dict or None, list of problems to report). Asks the recording's folder (see
    providers.storage.base.Companions) for `<uuid>.meta.json`, then for a `manifest.csv`
    row in the same directory."""
    problems = []
    call_uuid = companions.stem
    name = f"{call_uuid}.meta.json"
    raw = None
    data = _companion(companions, name, problems)
    if data is not None:
        try:
            raw = json.loads(data.decode("utf-8"))
            if not isinstance(raw, dict):
                raise ValueError("it is not a JSON object")
        except ValueError as exc:
            problems.append(f"The metadata file {name} is not valid ({exc}); the call is kept without a customer.")
            raw = None
    if raw is None:
        data = _companion(companions, MANIFEST, problems)
        if data is not None:
            raw, problem = _manifest_row(data, call_uuid)
            if problem:
                problems.append(problem)
    if raw is None:
        return None, problems
    meta, more = clean(raw)
    return meta, problems + more


def _companion(companions, name, problems):
    """The bytes of a companion file; a refused one is reported in `problems` and read as none."""
    try:
        return companions.read(name)
    except SkipFile as err:
        problems.append(f"{err.message} The call is kept without its customer details from {name}.")
        return None


def _manifest_row(data, call_uuid):
    try:
        reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""))
        if not reader.fieldnames or "uuid" not in [h.strip().lower() for h in reader.fieldnames]:
            return None, f"{MANIFEST} has no 'uuid' column; the call is kept without a customer."
        for row in reader:
            row = {(k or "").strip().lower(): v.strip() if isinstance(v, str) else "" for k, v in row.items()}
            if row.get("uuid", "").lower() == call_uuid.lower():
                return row, None
    except (UnicodeDecodeError, csv.Error) as exc:
        return None, f"{MANIFEST} could not be read ({exc}); the call is kept without a customer."
    return None, None


def _iso_time(value):
    when = parse_time(value)
    return when.isoformat() if when else None


# The fields given in a standard form: (field, normaliser returning None when it cannot, the problem then).
NORMALISED = (
    ("phone", normalize_phone, "The customer phone '{}' is not a valid phone number; it was ignored."),
    ("called_at", _iso_time, "The call time '{}' is not an ISO date-time; the file time is used."),
)


def clean(raw):
    """Known fields only, phone normalised, time parsed. Returns (metadata, problems)."""
    problems = []
    data = {ALIASES.get(k, k): v for k, v in raw.items()}
    meta = {}
    for key in FIELDS:
        value = data.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        meta[key] = str(value).strip()
    for key, normalise, problem in NORMALISED:
        if key in meta:
            value = normalise(meta[key])
            if value is None:
                problems.append(problem.format(meta.pop(key)))
            else:
                meta[key] = value
    return meta, problems


def parse_time(value):
    try:
        when = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)
