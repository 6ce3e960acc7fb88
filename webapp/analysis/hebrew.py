"""Hebrew text without niqqud, matched tolerantly: one-letter prefixes (ו ה ש ל ב כ מ),
final letter forms, doubled vav/yod of full spelling, geresh and punctuation, the common
noun and verb endings, negation inside a clause, and questions asked without a question mark."""

import functools
import re

NIQQUD = re.compile(r"[\u0591-\u05C7]")
FINALS = str.maketrans("ךםןףץ", "כמנפצ")
PREFIX = "[והשלבכמ]{0,3}"
LETTER = r"[\u05D0-\u05EAa-z0-9]"
# Endings a word takes without changing its sense here: plural, feminine, possessive, past
# person (מבין → מבינה, שולח → שולחת, מסלול → מסלולים, קבענו).
SUFFIX = "(?:ימ|ות|ית|ה|ת|י|כ|נו|כמ|כנ|ו)?"  # in normalized spelling (final forms folded)
# A noun ending in ה/ת also appears in construct or plural: חבילה → חבילת, מערכת → מערכות.
STEM_ENDINGS = {"ה": "(?:ה|ת|ות)", "ת": "(?:ת|ות)"}
NEGATIONS = ("לא", "אין", "אינני", "אינו", "אינה")
CLAUSE = re.compile(r"[,;:–—\-]+|\s+אבל\s+")
QUESTION_WORDS = (
    "מה",
    "איך",
    "כמה",
    "למה",
    "מתי",
    "האם",
    "איפה",
    "מי",
    "איזה",
    "איזו",
    "אילו",
    "מדוע",
    "היכן",
    "ממתי",
    "עד מתי",
    "באיזה",
    "באיזו",
    "לאיזה",
    "תוכל",
    "תוכלי",
    "תוכלו",
    "אפשר",
    "יש לך",
    "יש לכם",
    "ספר לי",
    "ספרי לי",
    "ספרו לי",
    "תגיד",
    "תגידי",
    "רציתי לשאול",
    "רציתי לבדוק",
)
# Interrogatives that ask wherever they stand in the sentence ("השארת פנייה על מקרר, איזה גודל").
QUESTION_ANYWHERE = ("איזה", "איזו", "אילו", "האם", "מדוע", "היכן")


def normalize(text):
    """Lower-case, niqqud and punctuation removed, final forms and full spelling folded."""
    text = NIQQUD.sub("", text or "").lower().translate(FINALS)
    text = re.sub(r"[\"'׳״`]", "", text)
    text = text.replace("וו", "ו").replace("יי", "י")
    return " ".join(re.findall(LETTER + "+", text))


def clauses(text):
    """A sentence's clauses (split at commas, dashes and "אבל"), normalized."""
    return [c for c in (normalize(p) for p in CLAUSE.split(text or "")) if c]


@functools.lru_cache(maxsize=4096)
def phrase_pattern(phrase):
    """A regex matching `phrase` in normalized text. Every word may carry prefixes and the
    common endings; a word written with a trailing '*' (הנח*) may carry up to three more
    letters; '_' stands for any one word and 'מ_' for any word beginning with מ."""
    parts = []
    for word in phrase.split():
        if word.endswith("_"):
            parts.append(re.escape(normalize(word[:-1]).replace(" ", "")) + f"{LETTER}+")
            continue
        stem = normalize(word).replace(" ", "")
        if not stem:
            continue
        if word.endswith("*"):
            parts.append(f"{PREFIX}{re.escape(stem)}{LETTER}{{0,3}}")
        else:
            ending = STEM_ENDINGS.get(stem[-1]) if len(stem) > 2 else None
            body = re.escape(stem[:-1]) + ending if ending else re.escape(stem)
            parts.append(f"{PREFIX}{body}{SUFFIX}")
    return re.compile(rf"(?<!{LETTER})" + r"\s+".join(parts) + rf"(?!{LETTER})")


def find(phrase, clause_texts):
    """True when `phrase` is said in one of the normalized clauses and not negated there
    (a "לא"/"אין" earlier in the same clause: "אני לא מציע לך שום חבילה")."""
    rx = phrase_pattern(phrase)
    negated_phrase = phrase.split()[0] in NEGATIONS
    for clause in clause_texts:
        for match in rx.finditer(clause):
            before = clause[: match.start()].split()
            if negated_phrase or not any(w in NEGATIONS for w in before):
                return True
    return False


def sentences(text):
    """Split a segment's text into sentences, keeping their punctuation."""
    pieces = re.split(r"(?<=[.!?؟])\s+", (text or "").strip())
    return [p for p in pieces if p.strip()]


def is_question(sentence):
    """A question mark, or a question form: an interrogative word (also after "ו") or a request
    to tell at the start ("ממתי זה התחיל", "תוכל לספר לי"), or an interrogative that asks
    anywhere ("איזה")."""
    if "?" in sentence or "؟" in sentence:
        return True
    words = normalize(sentence).split()
    if not words:
        return False
    if words[0] in ("מה", "ומה") and len(words) > 1 and words[1].startswith("ש"):
        return False  # "מה שאני מציעה..." relates, it does not ask
    for opener in _question_openers():
        n = len(opener)
        head = words[:n]
        if head == list(opener) or (len(head) == n and head[0][:1] == "ו" and [head[0][1:]] + head[1:] == list(opener)):
            return True
    return any(w in _anywhere() for w in words)


def questions_in(sentence):
    """How many questions a sentence asks: its clauses of two words or more that are
    question forms ("מה הגודל של הסלון, ואיזה סגנון את אוהבת" asks two), at least one
    when it is a question at all."""
    if not is_question(sentence):
        return 0
    return max(1, sum(1 for c in clauses(sentence) if len(c.split()) > 1 and is_question(c)))


@functools.lru_cache(maxsize=1)
def _question_openers():
    return tuple(tuple(normalize(q).split()) for q in QUESTION_WORDS)


@functools.lru_cache(maxsize=1)
def _anywhere():
    return frozenset(normalize(w) for w in QUESTION_ANYWHERE)


def word_count(text):
    return len(re.findall(LETTER + "+", NIQQUD.sub("", (text or "").lower())))
