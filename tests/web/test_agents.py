"""The per-agent report on PostgreSQL: the page, the CSV download (BOM, formula-safe) and the
API, from calls made directly in the database."""

import csv
import io
from datetime import datetime, timedelta, timezone

from tests.support import factories
from webapp.extensions import db
from webapp.services import agents

TODAY = datetime.now(timezone.utc).replace(hour=12, minute=0, second=0, microsecond=0)


def make_call(agent, overall, greeting, closing, days_ago=0, talk=None):
    scores = {
        "overall": overall,
        "criteria": [
            {"id": "greeting", "label": "פתיחה", "score": greeting},
            {"id": "closing", "label": "סגירה", "score": closing},
        ],
    }
    metrics = {"talk_share": {"agent": talk, "customer": round(1 - talk, 3)}} if talk is not None else {}
    factories.call(
        agent=agent, called_at=TODAY - timedelta(days=days_ago), overall_score=overall, scores=scores, metrics=metrics
    )


def seed():
    make_call("דנה", 80.0, 100, 60, talk=0.6)
    make_call("דנה", 60.0, 80, None, days_ago=3, talk=0.4)  # closing not applicable: left out of its average
    make_call("דנה", 50.0, 50, 50, days_ago=30)  # the previous 28 days
    make_call('=HYPERLINK("http://x")', 40.0, 40, 40, days_ago=1)
    make_call(None, 90.0, 90, 90, days_ago=2)
    make_call("דנה", 10.0, 10, 10, days_ago=90)  # in neither period
    db.session.commit()


def test_report_figures(ctx):
    seed()
    data = agents.report(agents.parse_filters({}))
    assert data["criteria"] == [("greeting", "פתיחה"), ("closing", "סגירה")]
    dana = data["rows"][0]
    assert dana == {
        "agent": "דנה",
        "calls": 2,
        "average": 70.0,
        "criteria": {"greeting": 90.0, "closing": 60.0},
        "talk_share": 50.0,
        "previous_average": 50.0,
        "change": 20.0,
    }
    assert {r["agent"] for r in data["rows"]} == {"דנה", '=HYPERLINK("http://x")', ""}
    assert (data["period"]["date_to"] - data["period"]["date_from"]).days == 27


def test_page_and_csv(web):
    seed()
    page = web["viewer"].get("/reports/agents")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    row = html.split('id="agents"')[1].split("</table>")[0]
    assert "<td>70.0</td>" in row and "<td>50%</td>" in row and "+20.0" in row and "(no agent named)" in row
    assert 'href="/reports/agents"' in web["viewer"].get("/reports/").get_data(as_text=True)

    download = web["viewer"].get("/reports/agents.csv")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert "attachment" in download.headers["Content-Disposition"]
    raw = download.get_data()
    assert raw.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert table[0] == [
        "Agent",
        "Calls",
        "Average score",
        "Agent talk share (%)",
        "Average, previous period",
        "Change",
        "פתיחה",
        "סגירה",
    ]
    assert table[1] == ["דנה", "2", "70.0", "50.0", "50.0", "20.0", "90.0", "60.0"]
    formula = next(r for r in table if "HYPERLINK" in r[0])
    assert formula[0].startswith("'=")  # a spreadsheet shows it as text, never runs it


def test_api(api, ctx):
    seed()
    body = api.get("viewer", "/api/batch/reports/agents").get_json()
    assert body["criteria"] == [{"id": "greeting", "label": "פתיחה"}, {"id": "closing", "label": "סגירה"}]
    dana = body["agents"][0]
    assert dana["agent"] == "דנה" and dana["average"] == 70.0 and dana["change"] == 20.0
    assert any(a["agent"] is None for a in body["agents"])
    week = api.get(
        "viewer", f"/api/batch/reports/agents?date_from={(TODAY - timedelta(days=1)).date()}&date_to={TODAY.date()}"
    ).get_json()
    assert [(a["agent"], a["calls"]) for a in week["agents"] if a["agent"] == "דנה"] == [("דנה", 1)]
    assert api.get(None, "/api/batch/reports/agents").status_code == 401
