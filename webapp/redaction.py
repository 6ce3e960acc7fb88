"""Secret values kept out of every text Callbatch stores or logs.

A provider or notifier that holds secrets (keys, tokens, passwords, a Slack webhook URL)
hands them to `remember` when it is built. From then on `redact` masks them in any text
(delivery errors, file error messages, event details, test-connection results), and every
log record of the process is masked the same way before any handler sees it. A secret URL
is masked by its parts too: an HTTP library's error names only the path (`url: /services/…`).
"""

import logging
import re
from urllib.parse import unquote, urlsplit

MASK = "••••••••"
SHORTEST = 6  # shorter values would mask ordinary words
TOKEN_LENGTH = 16  # a path segment this long is a token (Slack's is 24), not a word


def secret_parts(value):
    """The strings that give away a secret value: itself, the values inside a connection
    string (`AccountKey=…;`), and the user info, path and query of a URL."""
    value = str(value)
    parts = [value]
    if ";" in value:
        parts += [p.split("=", 1)[1] for p in value.split(";") if "=" in p]
    if "://" in value:
        try:
            url = urlsplit(value.strip())
        except ValueError:
            url = None
        if url is not None:
            parts += [
                url.path + ("?" + url.query if url.query else ""),
                url.path,
                url.query,
                url.username or "",
                url.password or "",
            ]
            parts += [p for p in url.path.split("/") if len(p) >= TOKEN_LENGTH]  # a token on its own
            host = url.hostname or ""
            if url.scheme not in ("http", "https") and "." not in host and ":" not in host:
                parts.append(host)  # apprise URLs keep ids and tokens where a host name would be
    parts += [unquote(p) for p in parts]
    return {p for p in parts if len(p) >= SHORTEST and p.strip("/") != ""}


class Redactor:
    """Known secret values and token-shaped patterns, masked in texts and log records."""

    PATTERNS = (
        (
            re.compile(
                r"(?i)\b(sig|signature|x-amz-signature|x-amz-security-token|x-amz-credential|"
                r"access_token|token)=[^&\s\"']+"
            ),
            r"\1=" + MASK,
        ),
        (re.compile(r"(?i)(AccountKey|SharedAccessSignature)=[^;\s\"']+"), r"\1=" + MASK),
        (
            re.compile(r"(?i)('?(authorization|x-amz-security-token|x-goog-api-key)'?\s*[:=]\s*'?)[^'\n,}]+"),
            r"\1" + MASK,
        ),
    )

    def __init__(self):
        self.secrets = []  # longest first, so a secret containing another is masked whole

    def remember(self, values):
        known = set(self.secrets)
        for value in values:
            if value:
                known |= secret_parts(value)
        self.secrets = sorted(known, key=len, reverse=True)

    def scrub(self, text):
        text = str(text)
        for value in self.secrets:
            if value in text:
                text = text.replace(value, MASK)
        for pattern, replacement in self.PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def clean_record(self, record):
        """Mask the message and the traceback of a log record in place."""
        try:
            message = record.getMessage()
        except Exception:
            return
        clean = self.scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self.scrub(logging.Formatter().formatException(record.exc_info))


REDACTOR = Redactor()


def remember(config, names):
    """Note the secrets of a provider's or notifier's config; returns their values."""
    values = [str(config[n]) for n in names if (config or {}).get(n)]
    REDACTOR.remember(values)
    return values


def redact(value):
    """`value` (a text, or the dicts and lists of event details) with every known secret masked."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    return REDACTOR.scrub(value)


_make_record = logging.getLogRecordFactory()


def _masked_record(*args, **kwargs):
    record = _make_record(*args, **kwargs)
    REDACTOR.clean_record(record)
    return record


logging.setLogRecordFactory(_masked_record)
