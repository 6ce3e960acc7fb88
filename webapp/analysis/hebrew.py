"""Hebrew text without niqqud, matched tolerantly: one-letter prefixes (ו ה ש ל ב כ מ),
final letter forms, doubled vav/yod of full spelling, geresh and punctuation."""
import functools
import re

NIQQUD = re.compile(r"[\u0591-\u05C7]")
FINALS = str.maketrans("ךםןףץ", "כמנפצ")
PREFIX = "[והשלבכמ]{0,3}"
LETTER = r"[\u05D0-\u05EAa-z0-9]"
QUESTION_WORDS = ("מה", "איך", "כמה", "למה", "מתי", "האם", "איפה", "מי", "איזה", "איזו", "אילו", "מדוע", "היכן")


def normalize(text):
    """Lower-case, niqqud and punctuation removed, final forms and full spelling folded."""
    text = NIQQUD.sub("", text or "").lower().translate(FINALS)
    text = re.sub(r"[\"'׳״`]", "", text)
    text = text.replace("וו", "ו").replace("יי", "י")
    return " ".join(re.findall(LETTER + "+", text))


@functools.lru_cache(maxsize=4096)
def phrase_pattern(phrase):
    """A regex matching `phrase` in normalized text. Every word may carry prefixes; a word
    written with a trailing '*' (הנח*) may also carry up to three more letters."""
    parts = []
    for word in phrase.split():
        stem = normalize(word).replace(" ", "")
        if not stem:
            continue
        suffix = f"{LETTER}{{0,3}}" if word.endswith("*") else ""
        parts.append(f"{PREFIX}{re.escape(stem)}{suffix}")
    return re.compile(rf"(?<!{LETTER})" + r"\s+".join(parts) + rf"(?!{LETTER})")


def sentences(text):
    """Split a segment's text into sentences, keeping their punctuation."""
    pieces = re.split(r"(?<=[.!?؟])\s+", (text or "").strip())
    return [p for p in pieces if p.strip()]


def is_question(sentence):
    if "?" in sentence or "؟" in sentence:
        return True
    words = normalize(sentence).split()
    folded = {normalize(w) for w in QUESTION_WORDS}
    return bool(words) and words[0] in folded


def word_count(text):
    return len(re.findall(LETTER + "+", NIQQUD.sub("", (text or "").lower())))
