"""Search over what the calls say: the rules, in one place, for the index and the query.

The index is `sales_calls.search_text`: the transcript normalized for Hebrew (niqqud,
punctuation and final letter forms folded, as `analysis.hebrew.normalize` does), followed by
every word again without its one-letter prefixes (ו ה ב ל מ ש כ, up to three), so that
"מחיר" finds "ובמחיר". It is filled whenever a call's transcript is set (an ORM event below),
so the code that files a call and anything that changes a transcript keep it in step; a bulk
UPDATE of transcripts must set it too (see services/retention.py).

A query word matches a word of the call that begins with it (PostgreSQL full-text search with
the 'simple' configuration and prefix queries; SQLite FTS5 prefix queries on the embedded
default), or, when the query word itself carries prefixes, that word without them. On
PostgreSQL a word spelled a little differently matches too: the words of the calls'
vocabulary (`search_words`) whose pg_trgm word similarity to it is at least 0.6 ("אחריוט"
finds "אחריות") join the query as alternatives. Every word of a query must match.

Migration 0014 builds the dialect's structures: on PostgreSQL the stored tsvector column
`search_vector` (to_tsvector('simple', search_text)) with a GIN index, and `search_words`
(filled by a trigger) with a GIN trigram index; on SQLite the FTS5 table `sales_calls_fts`
(external content: sales_calls.search_text) kept in step by triggers. Neither is a model.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa

from ..analysis import hebrew
from ..extensions import db
from ..models import SalesCall

PREFIX_LETTERS = "והבלמשכ"
MAX_PREFIXES = 3
MIN_STEM = 2  # letters left after taking prefixes off an indexed word
MIN_QUERY_STEM = 3  # ... off a query word (shorter stems match too much)
MAX_TERMS = 10
SIMILARITY = 0.6  # pg_trgm.word_similarity_threshold's default, which the <% operator uses
MAX_SIMILAR = 20
FTS_TABLE = "sales_calls_fts"
WORDS_TABLE = "search_words"
VECTOR_COLUMN = "search_vector"
INDEXES = ("ix_sales_calls_search_vector", "ix_search_words_trgm")
WORD = re.compile(r"[\u0591-\u05F4\w'\"]+")  # a word as written, niqqud, geresh and quotes included


# -- the words ----------------------------------------------------------------------------------


def stems(word: str, min_stem: int = MIN_STEM) -> list[str]:
    """`word` without one, two, three of its leading prefix letters (only Hebrew prefixes,
    each leaving at least `min_stem` letters): "ובמחיר" → ["במחיר", "מחיר"]."""
    found = []
    for n in range(1, MAX_PREFIXES + 1):
        if word[n - 1 : n] not in PREFIX_LETTERS or len(word) - n < min_stem:
            break
        found.append(word[n:])
    return found


def index_text(transcript: str | None) -> str | None:
    """What `search_text` holds for a transcript: its normalized words in order, then every
    prefix-less form not already among them."""
    words = hebrew.normalize(transcript or "").split()
    if not words:
        return None
    seen = set(words)
    extra = sorted({s for w in seen for s in stems(w)} - seen)
    return " ".join(words + extra)


def terms(text: str | None) -> list[tuple[str, list[str]]]:
    """The query's words, normalized: [(word, [its prefix-less forms])], at most MAX_TERMS.
    Single letters are left out."""
    found, seen = [], set()
    for word in hebrew.normalize(text or "").split():
        if len(word) < 2 or word in seen:
            continue
        seen.add(word)
        found.append((word, stems(word, MIN_QUERY_STEM)))
    return found[:MAX_TERMS]


@sa.event.listens_for(SalesCall.transcript, "set")
def _keep_search_text(call, value, _old, _initiator):
    call.search_text = index_text(value)


# -- the query ----------------------------------------------------------------------------------


def condition(text: str | None) -> sa.ColumnElement[bool] | None:
    """A WHERE clause for calls that say every word of `text`, or None when it has no word."""
    found = terms(text)
    if not found:
        return None
    if db.engine.dialect.name == "postgresql":
        return sa.and_(*(_pg_term(word, forms) for word, forms in found))
    match = " AND ".join("(" + " OR ".join([f'"{word}"*'] + [f'"{f}"' for f in forms]) + ")" for word, forms in found)
    fts = sa.table(FTS_TABLE, sa.column("rowid"))
    return SalesCall.id.in_(sa.select(fts.c.rowid).where(sa.text(f"{FTS_TABLE} MATCH :match").bindparams(match=match)))


def _pg_term(word, forms):
    # Normalized letters and digits only, in the words and in search_words: nothing in them is
    # tsquery syntax.
    alternatives = [f"{word}:*"] + forms + [w for w in similar_words(word) if w != word]
    query = sa.func.to_tsquery(sa.literal_column("'simple'::regconfig"), " | ".join(alternatives))
    return sa.literal_column("sales_calls.search_vector").op("@@")(query)


def similar_words(word: str, limit: int = MAX_SIMILAR) -> list[str]:
    """Words the calls say that are spelled like `word` (pg_trgm's word similarity, at least
    SIMILARITY), most similar first: looked up in search_words, the calls' vocabulary, so no
    transcript is read."""
    return db.session.scalars(
        sa.text(
            "SELECT word FROM search_words WHERE :word <% word ORDER BY word_similarity(:word, word) DESC, word "
            "LIMIT :limit"
        ),
        {"word": word, "limit": limit},
    ).all()


# -- hits on the call page ----------------------------------------------------------------------


def hits(call: SalesCall, text: str | None) -> list[dict[str, Any]]:
    """The segments of `call` that say a word of `text`, each as {"start", "end", "speaker",
    "pieces": [(text, matched)]} so a page can mark the matching words. The same rules as
    condition(): a word matches a query word it begins with (with or without its prefixes),
    or one of the query word's prefix-less forms, or (PostgreSQL) one similar enough."""
    found = terms(text)
    if not found:
        return []
    similar = db.engine.dialect.name == "postgresql"
    result = []
    for seg in call.segments or []:
        pieces = _pieces(seg.get("text") or "", found, similar)
        if any(matched for _piece, matched in pieces):
            result.append(
                {"start": seg.get("start") or 0, "end": seg.get("end"), "speaker": seg.get("speaker"), "pieces": pieces}
            )
    return result


def _pieces(text, found, similar):
    pieces, last = [], 0
    for match in WORD.finditer(text):
        normalized = hebrew.normalize(match.group())
        if normalized and _matches(normalized.replace(" ", ""), found, similar):
            if match.start() > last:
                pieces.append((text[last : match.start()], False))
            pieces.append((match.group(), True))
            last = match.end()
    if last < len(text):
        pieces.append((text[last:], False))
    return pieces


def _matches(word, found, similar):
    forms = [word] + stems(word)
    for term, term_forms in found:
        if any(f.startswith(term) for f in forms) or any(f in term_forms for f in forms):
            return True
        if similar and any(word_similarity(term, f) >= SIMILARITY for f in forms):
            return True
    return False


def word_similarity(query: str, word: str) -> float:
    """pg_trgm's word_similarity for one word: the best share of the query's trigrams in a
    stretch of the word's (each padded with two spaces before and one after)."""
    wanted = set(_trigrams(query))
    ordered = _trigrams(word)
    best = 0.0
    for i in range(len(ordered)):
        for j in range(i + 1, len(ordered) + 1):
            stretch = set(ordered[i:j])
            common = len(wanted & stretch)
            if common:
                best = max(best, common / (len(wanted) + len(stretch) - common))
    return best


def _trigrams(word):
    padded = f"  {word} "
    return [padded[i : i + 3] for i in range(len(padded) - 2)]


# -- the schema check and the backfill ----------------------------------------------------------


def include_in_schema_check(name: str | None, type_: str, _parent_names: dict[str, Any]) -> bool:
    """Alembic's include_name: the search structures are one dialect's own (migration 0014),
    not models, so comparing the models with the database leaves them out."""
    if type_ == "table":
        return not name.startswith(FTS_TABLE) and name != WORDS_TABLE
    if type_ == "column":
        return name != VECTOR_COLUMN
    if type_ == "index":
        return name not in INDEXES
    return True


def reindex(conn: sa.Connection, batch: int = 500) -> int:
    """Fill search_text for every call from its transcript on connection `conn` (the
    migration's backfill; also after these rules change). Returns the number of calls."""
    calls = sa.table("sales_calls", sa.column("id"), sa.column("transcript"), sa.column("search_text"))
    last, count = 0, 0
    while True:
        rows = conn.execute(
            sa.select(calls.c.id, calls.c.transcript).where(calls.c.id > last).order_by(calls.c.id).limit(batch)
        ).all()
        if not rows:
            return count
        conn.execute(
            sa.update(calls).where(calls.c.id == sa.bindparam("call_id")).values(search_text=sa.bindparam("text")),
            [{"call_id": r.id, "text": index_text(r.transcript)} for r in rows],
        )
        last, count = rows[-1].id, count + len(rows)
