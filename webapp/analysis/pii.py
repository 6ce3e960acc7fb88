"""Personal data in a transcript, found and replaced by a label: Israeli ID numbers (with a
valid check digit), payment card numbers (Luhn), Israeli phone numbers, e-mail addresses and
bank account numbers. Speech engines write spoken numbers as digits, often in groups
("050 123 4567", "4580-1234-..."), so a number is read across spaces and dashes."""

import re
from collections import Counter

LABELS = {"id": "[ת.ז.]", "card": "[כרטיס]", "phone": "[טלפון]", "email": '[דוא"ל]', "account": "[חשבון]"}
KINDS = tuple(LABELS)
AUDIO_PAD_SECONDS = 0.75  # silence around an item's estimated moment in the recording

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# Digit groups joined by one space, dash or dot: "050-123 4567", "+972 52 1234567".
DIGIT_RUN = re.compile(r"(?<![\w])\+?\d+(?:[ \-.]\d+)*(?![\w])")
GROUP = re.compile(r"\d+")
MOBILE = re.compile(r"05\d{8}")
LANDLINE = re.compile(r"0(?:[23489]\d{7}|7\d{8})")
INTERNATIONAL = re.compile(r"(?:00)?972(?:5\d{8}|[23489]\d{7}|7\d{8})")
BRANCH_ACCOUNT = re.compile(r"\d{2}-\d{3}-\d{4,9}")  # bank-branch-account as written on a cheque
# "חשבון" (with its prefixes: בחשבון, מספר החשבון) a few words before the number.
ACCOUNT_WORD = re.compile(r"(?:^|[^\u05D0-\u05EA])[והשלבכמ]{0,3}חשבו[ןנ](?:[^\d]{0,25})$")
ID_WORD = re.compile(r"(?:ת\.?ז|תעודת\s+זהות|זהות)[^\d]{0,15}$")


def valid_israeli_id(digits):
    """Nine digits whose last is the check digit of the Israeli ID (Luhn-like, weights 1,2)."""
    if len(digits) != 9 or not digits.isdigit():
        return False
    total = 0
    for n, ch in enumerate(digits):
        value = int(ch) * (1 if n % 2 == 0 else 2)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def luhn(digits):
    total = 0
    for n, ch in enumerate(reversed(digits)):
        value = int(ch) * (2 if n % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def is_phone(digits, plus=False):
    if plus or digits.startswith(("972", "00972")):
        return bool(INTERNATIONAL.fullmatch(digits))
    return bool(MOBILE.fullmatch(digits) or LANDLINE.fullmatch(digits))


def classify(written, before=""):
    """The kind of personal number `written` is ("050-1234567" → "phone"), or None. `before`
    is the text just before it, for the words that announce an account or an ID."""
    plus = written.startswith("+")
    digits = re.sub(r"\D", "", written)
    if ACCOUNT_WORD.search(before) and len(digits) >= 4:
        return "account"
    if ID_WORD.search(before) and valid_israeli_id(digits):
        return "id"
    if is_phone(digits, plus) and not (len(digits) == 9 and valid_israeli_id(digits) and "-" not in written):
        return "phone"
    if len(digits) == 9 and valid_israeli_id(digits):
        return "id"
    if 13 <= len(digits) <= 19 and luhn(digits):
        return "card"
    if BRANCH_ACCOUNT.fullmatch(written):
        return "account"
    return None


def find(text):
    """[(start, end, kind)] of the personal data in `text`, in order, not overlapping."""
    spans = [(m.start(), m.end(), "email") for m in EMAIL.finditer(text or "")]
    for run in DIGIT_RUN.finditer(text or ""):
        if any(s < run.end() and run.start() < e for s, e, _k in spans):
            continue
        spans += _numbers_in(text, run)
    return sorted(spans)


def _numbers_in(text, run):
    """The personal numbers inside one run of digit groups: the longest stretch of whole groups
    that is one ("שילמתי 100 050-1234567" holds a phone number after the 100)."""
    groups = [(run.start() + m.start(), run.start() + m.end()) for m in GROUP.finditer(run.group())]
    if run.group().startswith("+"):
        groups[0] = (run.start(), groups[0][1])
    found, i = [], 0
    while i < len(groups):
        for j in range(len(groups), i, -1):
            start, end = groups[i][0], groups[j - 1][1]
            kind = classify(text[start:end], text[max(0, start - 40) : start])
            if kind:
                found.append((start, end, kind))
                i = j
                break
        else:
            i += 1
    return found


def redact(text):
    """(text with each personal item replaced by its label, Counter of kinds replaced)."""
    counts = Counter()
    out, last = [], 0
    for start, end, kind in find(text):
        out += [text[last:start], LABELS[kind]]
        counts[kind] += 1
        last = end
    out.append((text or "")[last:])
    return "".join(out), counts


def redact_transcript(transcript):
    """Redact a Transcript in place (its text and every segment). Returns (kinds counted in the
    text, or in the segments when the text is empty; [[start, end]] of the audio to silence)."""
    transcript.text, counts = redact(transcript.text)
    segment_counts, spans = Counter(), []
    for segment in transcript.segments:
        spans += audio_spans(segment)
        segment.text, found = redact(segment.text)
        segment_counts += found
    return dict(counts or segment_counts), spans


def audio_spans(segment, pad=AUDIO_PAD_SECONDS):
    """When a segment's personal items were said: the segment has no word times, so each item's
    moment is estimated from its place in the text, widened by `pad` on both sides and kept
    within the segment."""
    text = segment.text or ""
    length = max(len(text), 1)
    duration = max(segment.end - segment.start, 0.0)
    spans = []
    for start, end, _kind in find(text):
        begin = segment.start + duration * start / length - pad
        finish = segment.start + duration * end / length + pad
        spans.append([round(max(segment.start, begin), 2), round(min(segment.end, finish), 2)])
    return spans
