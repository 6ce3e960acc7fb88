"""Trackers through the pages, the API and the CLI on PostgreSQL: the Hebrew matching, counts
and hit times per call, the recount in a worker job, the call page, the calls filter and the
reports chart. Calls are made directly in the database (this is not about processing)."""

import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from webapp import queues
from webapp.extensions import db
from webapp.models import AuditLog, CallTrackerHit, SalesCall, Tracker
from webapp.services import trackers

NOW = datetime.now(timezone.utc).replace(hour=12, minute=0, second=0, microsecond=0)


@pytest.fixture(autouse=True)
def no_starters(ctx):
    """Without the starter trackers a fresh database is seeded with: each test makes its own."""
    db.session.execute(sa.delete(Tracker))
    db.session.commit()


def make_call(*lines, days_ago=0, agent="דנה"):
    """A filed call whose segments say `lines`, 5 seconds apart."""
    call = SalesCall(
        content_sha256=uuid.uuid4().hex * 2,
        call_uuid=str(uuid.uuid4()),
        agent=agent,
        called_at=NOW - timedelta(days=days_ago),
        transcript=" ".join(lines),
        segments=[{"start": 5.0 * n, "end": 5.0 * n + 4, "text": text} for n, text in enumerate(lines)],
    )
    db.session.add(call)
    db.session.commit()
    return call


def hits(call_id, tracker_id):
    db.session.rollback()
    return db.session.scalar(
        sa.select(CallTrackerHit).where(CallTrackerHit.call_id == call_id, CallTrackerHit.tracker_id == tracker_id)
    )


def test_phrases_match_with_the_scorecards_hebrew_normalisation():
    phrases = ["בזק", "HOT", "לבטל", "מחיר"]
    segments = [
        {"start": 1.0, "text": "אני כרגע בבזק ורוצה לבטל"},  # prefix ב, and לבטל
        {"start": 7.5, "text": "ב-hot המחירים זולים יותר"},  # case, and a plural ending
        {"start": 9.0, "text": "בזקן אחד ביטל את ההזמנה"},
    ]  # another word, another form
    assert trackers.count(phrases, segments) == (4, [1.0, 7.5])
    assert trackers.count(["מחיר"], [], "מה המחיר?") == (1, [])


def test_a_recount_counts_existing_calls_with_their_times(ctx, cli):
    tracker = Tracker(name="ביטול", phrases=["לבטל", "להתנתק"])
    db.session.add(tracker)
    db.session.commit()
    said = make_call("שלום", "אני רוצה לבטל את המנוי", "ממש להתנתק, לבטל הכל")
    silent = make_call("שלום", "תודה רבה")
    result = cli.invoke(args=["trackers", "recount"])
    assert result.exit_code == 0 and "2 call(s)" in result.output
    row = hits(said.id, tracker.id)
    assert (row.count, row.times) == (3, [5.0, 10.0])
    assert hits(silent.id, tracker.id) is None
    # Counting again replaces the rows, it never adds to them.
    trackers.recount()
    assert hits(said.id, tracker.id).count == 3


def test_managers_add_change_and_remove_trackers_on_the_page_and_the_recount_is_queued(web):
    queue = queues.queue(queues.SCANS)
    queue.empty()
    call = make_call("אני בפרטנר כבר שנתיים")
    assert web["viewer"].post("/trackers/", data={"name": "מתחרים", "phrases": "בזק"}).status_code == 403

    page = web["manager"].post("/trackers/", data={"name": "מתחרים", "phrases": "בזק, פרטנר\nסלקום"})
    assert page.status_code == 302
    tracker = db.session.scalar(sa.select(Tracker).where(Tracker.name == "מתחרים"))
    assert tracker.phrases == ["בזק", "פרטנר", "סלקום"]
    assert hits(call.id, tracker.id) is None  # the request only queued the work
    [job] = queue.jobs
    assert job.func_name == "webapp.tasks.trackers.recount_trackers" and job.args == ([tracker.id],)
    job.perform()
    assert hits(call.id, tracker.id).count == 1

    listed = web["viewer"].get("/trackers/").get_data(as_text=True)
    assert "מתחרים" in listed and "בזק, פרטנר, סלקום" in listed and 'action="/trackers/"' not in listed
    refused = web["manager"].post("/trackers/", data={"name": "מתחרים", "phrases": ""})
    assert refused.status_code == 422 and "already exists" in refused.get_data(as_text=True)

    assert web["manager"].post(f"/trackers/{tracker.id}", data={"name": "מתחרים", "phrases": "HOT"}).status_code == 302
    queue.jobs[-1].perform()
    assert hits(call.id, tracker.id) is None  # פרטנר is no longer listened for
    assert web["manager"].post(f"/trackers/{tracker.id}/delete").status_code == 302
    assert db.session.get(Tracker, tracker.id) is None
    actions = db.session.scalars(
        sa.select(AuditLog.action).where(AuditLog.target_type == "tracker").order_by(AuditLog.id)
    ).all()
    assert actions == ["tracker.create", "tracker.update", "tracker.delete"]


def test_call_page_shows_the_trackers_and_the_calls_list_filters_by_tracker(web):
    tracker = Tracker(name="מחיר", phrases=["מחיר", "יקר"])
    db.session.add(tracker)
    db.session.commit()
    pricey = make_call("שלום", "זה יקר לי", "מה המחיר הסופי")
    other = make_call("שלום", "תודה")
    trackers.recount()

    html = web["viewer"].get(f"/calls/{pricey.id}").get_data(as_text=True)
    section = html.split('id="call-trackers"')[1].split("</section>")[0]
    assert "מחיר" in section and "<strong>2</strong>" in section
    assert 'data-seek="5.0"' in section and 'data-seek="10.0"' in section
    assert "No tracker phrase" in web["viewer"].get(f"/calls/{other.id}").get_data(as_text=True)

    listed = web["viewer"].get(f"/calls/?tracker={tracker.id}").get_data(as_text=True)
    assert pricey.call_uuid in listed and other.call_uuid not in listed
    assert f'<option value="{tracker.id}" selected>' in listed
    everything = web["viewer"].get("/calls/").get_data(as_text=True)
    assert pricey.call_uuid in everything and other.call_uuid in everything


def test_reports_chart_calls_mentioning_each_tracker_per_day(web):
    competitors = Tracker(name="מתחרים", phrases=["בזק"])
    cancel = Tracker(name="ביטול", phrases=["לבטל"])
    db.session.add_all([competitors, cancel])
    db.session.commit()
    make_call("עברתי מבזק", "בזק היו יקרים", days_ago=1)  # one call, however often it is said
    make_call("בזק", days_ago=1)
    make_call("רוצה לבטל", days_ago=0)
    make_call("בזק", days_ago=40)  # outside the week shown
    trackers.recount()
    html = web["viewer"].get("/reports/").get_data(as_text=True)
    table = html.split('id="tracker-series"')[1].split("</table>")[0]
    yesterday, today = (NOW - timedelta(days=1)).date().isoformat(), NOW.date().isoformat()
    assert re.search(r"<th[^>]*>ביטול</th><th[^>]*>מתחרים</th>", table)  # by name
    assert f"<tr><td>{yesterday}</td><td>0</td><td>2</td></tr>" in table
    assert f"<tr><td>{today}</td><td>1</td><td>0</td></tr>" in table
    weekly = trackers.chart({"date_from": NOW.date() - timedelta(days=59), "date_to": NOW.date(), "folder_id": None})
    assert weekly["unit"] == "week" and sum(v[1] for _label, v in weekly["series"]) == 3


def test_trackers_through_the_api(api, ctx):
    call = make_call("רוצה להתנתק")
    assert api.post("viewer", "/api/batch/trackers", json={"name": "ביטול", "phrases": ["להתנתק"]}).status_code == 403
    made = api.post("manager", "/api/batch/trackers", json={"name": "ביטול", "phrases": ["להתנתק"]})
    assert made.status_code == 201, made.get_json()
    tracker_id = made.get_json()["id"]
    assert api.post("manager", "/api/batch/trackers", json={"name": "ביטול", "phrases": ["x"]}).status_code == 422
    assert api.post("manager", "/api/batch/trackers", json={"name": "ריק", "phrases": []}).status_code == 422
    trackers.recount()
    assert api.get("viewer", f"/api/batch/calls?tracker={tracker_id}").get_json()["total"] == 1
    assert api.get("viewer", f"/api/batch/calls/{call.id}").get_json()["trackers"][0]["count"] == 1
    changed = api.patch("manager", f"/api/batch/trackers/{tracker_id}", json={"phrases": ["לעזוב"]})
    assert changed.status_code == 200 and changed.get_json()["phrases"] == ["לעזוב"]
    assert [t["name"] for t in api.get("viewer", "/api/batch/trackers").get_json()["items"]] == ["ביטול"]
    assert api.delete("manager", f"/api/batch/trackers/{tracker_id}").status_code == 204
    assert api.get("viewer", f"/api/batch/trackers/{tracker_id}").status_code == 404
    paths = api.get("viewer", "/api/openapi.json").get_json()["paths"]
    assert set(paths["/api/batch/trackers"]) == {"get", "post"}
    assert set(paths["/api/batch/trackers/{tracker_id}"]) == {"get", "patch", "delete"}
    assert "get" in paths["/api/batch/reports/agents"]


def test_the_new_pages_in_hebrew(web, users):
    from flask import g

    users["viewer"].language = "he"
    db.session.commit()
    for url, words in {
        "/trackers/": ["מעקבים", "אין עדיין מעקבים."],
        "/reports/agents": ["דוח לפי נציג", "מגמה"],
        "/reports/": ["שיחות שהזכירו כל מעקב, לפי יום."],
    }.items():
        g.pop("_flask_babel", None)
        html = web["viewer"].get(url).get_data(as_text=True)
        assert '<html lang="he" dir="rtl">' in html, url
        for word in words:
            assert word in html, (url, word)
