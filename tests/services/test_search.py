"""Finding and exporting what the calls say, through the pages and the API, on PostgreSQL and on
the embedded default's SQLite: full-text search over Hebrew (prefixes, inflections, niqqud;
near spellings on PostgreSQL), the hits marked on the call page with links that seek the
player, every filter of the calls list, and the CSV/JSON exports."""

import csv
import io
import json
import uuid
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from tests.support.helpers import embedded_env, run_flask
from tests.support.web import sign_in

CLOSING = {"id": "closing", "label": "Closing"}
OPENING = {"id": "opening", "label": "Opening"}


@pytest.fixture(scope="module")
def sqlite_app(service_env, tmp_path_factory):
    """The app on an SQLite database built by the migrations, as the embedded default builds
    it (in a process of its own: Alembic's logging setup would disable this one's loggers)."""
    from webapp import create_app

    instance = tmp_path_factory.mktemp("sqlite-instance")
    built = run_flask(embedded_env(instance), "db", "upgrade", timeout=120)
    assert built.returncode == 0, built.stderr[-2000:]
    return create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance}/callbatch.sqlite3",
            "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"timeout": 30}},
        }
    )


class Site:
    """One app (PostgreSQL or SQLite) with a manager and a viewer signed in, their API tokens
    and a way to file calls straight into the database."""

    def __init__(self, app):
        from webapp.extensions import db
        from webapp.models import User
        from webapp.services import tokens

        self.app, self.dialect = app, db.engine.dialect.name
        self.tokens = {}
        for role in ("manager", "viewer"):
            user = User(email=f"{role}@example.com", role=role, language="en")
            user.set_password("correct horse battery")
            db.session.add(user)
            db.session.commit()
            self.tokens[role] = tokens.create_token(user, "search tests")[1]
        self.web = {role: sign_in(app, f"{role}@example.com") for role in ("manager", "viewer")}

    def call(
        self, sentences, agent=None, customer=None, score=None, failed=(), passed=(), metrics=None, called_at=None
    ):
        """File a call saying `sentences` (one segment each, 7 seconds apart)."""
        from webapp.extensions import db
        from webapp.models import Customer, SalesCall

        segments = [
            {"start": 7.0 * n, "end": 7.0 * n + 6, "text": text, "speaker": "agent" if n % 2 == 0 else "customer"}
            for n, text in enumerate(sentences)
        ]
        criteria = [
            {"id": c["id"], "label": c["label"], "score": 0.0, "passed": False, "applicable": True} for c in failed
        ] + [{"id": c["id"], "label": c["label"], "score": 100.0, "passed": True, "applicable": True} for c in passed]
        call = SalesCall(
            content_sha256=uuid.uuid4().hex * 2,
            call_uuid=str(uuid.uuid4()),
            agent=agent,
            called_at=called_at or datetime(2026, 3, 10, 9, tzinfo=timezone.utc),
            duration_seconds=7.0 * len(sentences),
            language="he",
            engine="sidecar",
            transcript=" ".join(sentences),
            segments=segments,
            overall_score=score,
            scores={"overall": score, "criteria": criteria} if criteria else None,
            metrics=metrics
            or {"words": len(" ".join(sentences).split()), "talk_share": {"agent": 0.6, "customer": 0.4}},
        )
        if customer:
            call.customer = Customer(name=customer, phone=str(uuid.uuid4().int)[:10])
        db.session.add(call)
        db.session.commit()
        return call.id

    def api(self, path, role="viewer", **params):
        with self.app.app_context():
            return self.app.test_client().get(
                path, query_string=params, headers={"Authorization": f"Bearer {self.tokens[role]}"}
            )

    def found(self, **params):
        """The ids the API's list finds, and the ids the page lists (they must agree)."""
        listed = self.api("/api/batch/calls", **params)
        assert listed.status_code == 200, listed.get_data(as_text=True)
        ids = {item["id"] for item in listed.get_json()["items"]}
        page = self.web["viewer"].get("/calls/", query_string=params)
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        on_page = {
            int(part.split('"')[0].split("?")[0]) for part in html.split('href="/calls/')[1:] if part[:1].isdigit()
        }
        assert on_page == ids, (params, on_page, ids)
        return ids


@pytest.fixture(params=["postgresql", "sqlite"])
def site(request, service_env):
    from webapp.extensions import db

    if request.param == "postgresql":
        app = request.getfixturevalue("app")  # its teardown empties the tables
        with app.app_context():
            yield Site(app)
            db.session.remove()
        return
    app = request.getfixturevalue("sqlite_app")
    with app.app_context():
        try:
            yield Site(app)
        finally:
            db.session.remove()
            with db.engine.begin() as conn:
                for table in reversed(db.metadata.sorted_tables):
                    conn.execute(table.delete())


def test_a_word_is_found_with_its_prefixes_endings_and_niqqud_and_nothing_else(site):
    prefixed = site.call(["שלום, מדבר דני.", "ובמחיר הזה אני לא יכול להתחייב."])
    plural = site.call(["המחירים שלנו השתנו השנה."])
    bare = site.call(["מחיר טוב לכולם."])
    other = site.call(["אנחנו מציעים ביטוח דירה.", "החבילה כוללת אחריות מלאה."])
    assert site.found(q="מחיר") == {prefixed, plural, bare}
    assert site.found(q="מְחִיר") == {prefixed, plural, bare}  # niqqud is ignored
    assert site.found(q="ובמחיר") == {prefixed, bare}  # the prefixed word, or the word itself
    assert site.found(q="ביטוח") == {other}
    assert site.found(q="מחי") == {prefixed, plural, bare}  # a beginning of a word
    assert site.found(q="ביטוח מחיר") == set()  # every word must be said
    assert site.found(q="טלוויזיה") == set()
    assert site.found(q="ביטוח", agent="nobody") == set()
    from webapp.extensions import db
    from webapp.models import SalesCall

    uuid_of = db.session.get(SalesCall, other).call_uuid
    assert site.found(q=uuid_of[:9]) == {other}  # the beginning of a call id


def test_near_spellings_are_found_by_trigrams_on_postgresql(site):
    warranty = site.call(["החבילה כוללת אחריות מלאה לשנתיים."])
    installation = site.call(["ההתקנה חינם בשבוע הבא."])
    site.call(["אנחנו מציעים ביטוח דירה."])
    if site.dialect != "postgresql":
        assert site.found(q="אחריוט") == set()  # FTS5 has no trigram matching: an exact spelling is needed
        return
    assert site.found(q="אחריוט") == {warranty}
    assert site.found(q="התקנא") == {installation}
    assert site.found(q="מקרר") == set()


def test_the_call_page_marks_the_hits_and_each_seeks_the_player(site):
    call_id = site.call(
        ["שלום, מדבר דני מחברת אורנים.", "ובמחיר הזה אני לא יכול.", "תודה רבה, להתראות.", "המחיר כולל התקנה."]
    )
    page = site.web["viewer"].get(f"/calls/{call_id}", query_string={"q": "מחיר"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    hits = html.split('id="search-hits"')[1].split("</section>")[0]
    assert hits.count('class="hit"') == 2
    assert "<mark>ובמחיר</mark>" in hits and "<mark>המחיר</mark>" in hits and "להתראות" not in hits
    assert f'href="/calls/{call_id}/audio#t=7.0" data-seek="7.0"' in hits
    assert f'href="/calls/{call_id}/audio#t=21.0" data-seek="21.0"' in hits
    assert "2 places say" in hits

    nothing = site.web["viewer"].get(f"/calls/{call_id}", query_string={"q": "ביטוח"}).get_data(as_text=True)
    assert "Nothing in this call matches" in nothing and "<mark>" not in nothing
    plain = site.web["viewer"].get(f"/calls/{call_id}").get_data(as_text=True)
    assert 'class="hit"' not in plain

    listed = site.web["viewer"].get("/calls/", query_string={"q": "מחיר"}).get_data(as_text=True)
    assert f"/calls/{call_id}?q=" in listed  # the list leads to the call with its hits

    api = site.api(f"/api/batch/calls/{call_id}", q="מחיר").get_json()
    assert [(h["start"], h["matched"]) for h in api["hits"]] == [(7.0, ["ובמחיר"]), (21.0, ["המחיר"])]


def test_each_filter_of_the_calls_list(site):
    march = datetime(2026, 3, 1, 10, tzinfo=timezone.utc)
    april = datetime(2026, 4, 15, 23, 30, tzinfo=timezone.utc)
    noa = site.call(
        ["שלום"], agent="נועה כהן", customer="משה לוי", score=85.0, passed=[OPENING, CLOSING], called_at=march
    )
    dan = site.call(
        ["שלום"], agent="דני", customer="רחל אברהם", score=40.0, failed=[CLOSING], passed=[OPENING], called_at=april
    )
    none = site.call(["שלום"], agent="דני", score=None, called_at=datetime(2026, 5, 2, tzinfo=timezone.utc))
    assert site.found() == {noa, dan, none}
    assert site.found(agent="נועה") == {noa}
    assert site.found(agent="דני") == {dan, none}
    assert site.found(customer="לוי") == {noa}
    assert site.found(score_min=50) == {noa}
    assert site.found(score_max=50) == {dan}
    assert site.found(score_min=40, score_max=85) == {noa, dan}
    assert site.found(criterion_failed="closing") == {dan}
    assert site.found(criterion_failed="opening") == set()
    assert site.found(date_from="2026-04-15") == {dan, none}
    assert site.found(date_to="2026-04-15") == {noa, dan}  # the whole last day
    assert site.found(date_from="2026-03-02", date_to="2026-04-30") == {dan}
    assert site.found(agent="דני", score_max=50, criterion_failed="closing", date_to="2026-04-30") == {dan}
    invalid = site.api("/api/batch/calls", score_min=101)
    assert invalid.status_code == 422


def _csv(response):
    body = response.get_data()
    assert body.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def test_the_exports_hold_scores_metrics_and_hebrew_and_keep_the_filters(site):
    from webapp.extensions import db
    from webapp.models import AuditLog

    hit = site.call(
        ["ובמחיר הזה אני לא יכול."],
        agent='=HYPERLINK("http://x")',
        customer="משה לוי",
        score=55.5,
        failed=[CLOSING],
        passed=[OPENING],
        metrics={"words": 6, "questions_asked": 0, "talk_share": {"agent": 0.7, "customer": 0.3}},
    )
    site.call(["אנחנו מציעים ביטוח דירה."], agent="דני", score=90.0, passed=[OPENING, CLOSING])

    page = site.web["manager"].get("/calls/", query_string={"q": "מחיר"}).get_data(as_text=True)
    assert 'href="/calls/export.csv?q=' in page and 'href="/calls/export.json?q=' in page
    response = site.web["manager"].get("/calls/export.csv", query_string={"q": "מחיר"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    (row,) = _csv(response)
    assert int(row["id"]) == hit and row["customer"] == "משה לוי"
    assert row["agent"] == '\'=HYPERLINK("http://x")'  # not a formula
    assert row["criteria.closing"] == "0.0" and row["criteria.opening"] == "100.0" and row["overall_score"] == "55.5"
    assert row["metrics.talk_share.agent"] == "0.7" and row["metrics.words"] == "6"
    assert list(row).index("criteria.opening") < list(row).index("criteria.closing")  # the scorecard's order

    everything = _csv(site.api("/api/batch/calls/export", role="manager", format="csv"))
    assert len(everything) == 2 and {r["agent"] for r in everything} == {'\'=HYPERLINK("http://x")', "דני"}
    exported = site.api("/api/batch/calls/export", role="manager", format="json", criterion_failed="closing")
    assert exported.status_code == 200
    (item,) = json.loads(exported.get_data(as_text=True))
    assert item["id"] == hit and item["customer"] == "משה לוי" and item["agent"] == '=HYPERLINK("http://x")'
    assert item["criteria"] == {"closing": 0.0, "opening": 100.0}
    assert item["metrics"] == {"words": 6, "questions_asked": 0, "talk_share.agent": 0.7, "talk_share.customer": 0.3}
    assert "משה לוי".encode() in exported.get_data()  # Hebrew as it is, not \\u escapes

    assert site.api("/api/batch/calls/export", role="viewer").status_code == 403
    assert site.web["viewer"].get("/calls/export.csv").status_code == 403
    audits = db.session.scalars(
        sa.select(AuditLog).where(AuditLog.action == "calls.export").order_by(AuditLog.id)
    ).all()
    assert [(a.actor, a.after["format"], a.after["filters"], a.after["calls"]) for a in audits] == [
        ("manager@example.com", "csv", {"q": "מחיר"}, 1),
        ("manager@example.com", "csv", {}, 2),
        ("manager@example.com", "json", {"criterion_failed": "closing"}, 1),
    ]


def test_search_text_follows_the_transcript_and_the_retention_purge(site):
    from webapp.extensions import db
    from webapp.models import SalesCall
    from webapp.services import retention

    call_id = site.call(["אנחנו מציעים ביטוח דירה."])
    assert site.found(q="ביטוח") == {call_id}
    call = db.session.get(SalesCall, call_id)
    call.transcript = "ההצעה כוללת הנחה גדולה"
    db.session.commit()
    assert site.found(q="ביטוח") == set() and site.found(q="הנחה") == {call_id}
    retention.purge(0, now=datetime(2100, 1, 1, tzinfo=timezone.utc))
    assert site.found(q="הנחה") == set()
