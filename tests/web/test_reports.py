"""The reports page: processing performance, error analysis and score distribution, from
real rows in PostgreSQL, for each role, with its date/folder filter, and readable without
JavaScript (every chart's numbers are also a table)."""

import re
from datetime import datetime, timedelta, timezone

import pytest

from tests.support import factories
from webapp.services import reports


def _seed(tmp_path):
    from webapp.extensions import db

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = factories.folder(tmp_path / "a"), factories.folder(tmp_path / "b")
    now = datetime.now(timezone.utc).replace(minute=30)
    rows = []

    def record(folder, status, finished, **extra):
        rows.append(factories.file_record(folder, status, finished_at=finished, updated_at=finished, **extra))

    # 20 completed in folder a: ASR 100..2000 ms (p95 = 1900), download 10 ms; model_loads is a count, not a time
    for i in range(1, 21):
        record(
            first,
            "completed",
            now - timedelta(hours=1),
            stage_timings={"download_ms": 10, "asr_ms": 100 * i, "db_ms": 5, "model_loads": 1},
        )
    record(first, "failed", now - timedelta(hours=1), error_code="TRANSCRIPTION_FAILED", error_category="processing")
    record(first, "skipped", now - timedelta(days=1), error_code="INVALID_FORMAT", error_category="file_format")
    record(second, "completed", now - timedelta(days=2), stage_timings={"asr_ms": 50000})
    record(second, "failed", now - timedelta(days=2), error_code="ACCESS_DENIED", error_category="file_access")
    record(second, "completed", now - timedelta(days=30), stage_timings={"asr_ms": 1})  # out of range
    for i, score in enumerate([5, 55, 58, 71, 99.5, 100]):
        factories.call(rows[i], overall_score=score, created_at=now - timedelta(hours=1))
    factories.call(rows[-3], overall_score=30, created_at=now - timedelta(days=2))
    db.session.commit()
    return first, second


def test_percentile_is_nearest_rank():
    assert reports.percentile([], 95) is None
    assert reports.percentile([7], 95) == 7
    assert reports.percentile(list(range(1, 101)), 95) == 95
    assert reports.percentile(list(range(1, 21)), 95) == 19
    assert reports.percentile([3, 1, 2], 50) == 2


def test_parse_filters_falls_back_and_bounds():
    from datetime import date

    today = date(2024, 5, 10)
    f = reports.parse_filters({}, today=today)
    assert (f["date_from"], f["date_to"], f["folder_id"]) == (date(2024, 5, 4), today, None)
    f = reports.parse_filters({"date_from": "2024-05-09", "date_to": "2024-05-01", "folder_id": "x"}, today=today)
    assert (f["date_from"], f["date_to"], f["folder_id"]) == (date(2024, 5, 1), date(2024, 5, 9), None)
    f = reports.parse_filters({"date_from": "2000-01-01", "date_to": "2024-05-01"}, today=today)
    assert (f["date_to"] - f["date_from"]).days == reports.MAX_DAYS - 1


def test_report_figures(ctx, tmp_path):
    first, second = _seed(tmp_path)
    filters = reports.parse_filters({})
    perf = reports.performance(filters)
    assert (perf["completed"], perf["failed"], perf["skipped"]) == (21, 2, 1)
    assert perf["success_rate"] == round(100 * 21 / 23, 1)
    assert sum(count for _label, count in perf["series"]) == 21 and perf["unit"] == "day"
    stages = {row["stage"]: row for row in perf["stages"]}
    assert list(stages) == ["download", "asr", "db", "total"]
    assert stages["asr"]["count"] == 21 and stages["asr"]["p95_ms"] == 2000
    assert stages["download"] == {"stage": "download", "count": 20, "avg_ms": 10.0, "p95_ms": 10.0}
    assert stages["total"]["p95_ms"] == 2015  # nearest rank 20 of 21
    assert perf["files_per_hour"] > 0

    errors = reports.errors(filters)
    assert errors["total"] == 3
    assert {(r["code"], r["category"], r["count"]) for r in errors["by_code"]} == {
        ("TRANSCRIPTION_FAILED", "processing", 1),
        ("INVALID_FORMAT", "file_format", 1),
        ("ACCESS_DENIED", "file_access", 1),
    }
    assert sum(sum(values) for _label, values in errors["series"]) == 3

    scores = reports.scores(filters)
    assert scores["count"] == 7
    bins = dict(scores["bins"])
    assert (bins["0–10"], bins["30–40"], bins["50–60"], bins["70–80"], bins["90–100"]) == (1, 1, 2, 1, 2)
    assert scores["mean"] == round((5 + 55 + 58 + 71 + 99.5 + 100 + 30) / 7, 1)

    only_a = reports.parse_filters({"folder_id": str(first.id)})
    assert reports.performance(only_a)["completed"] == 20
    assert reports.errors(only_a)["total"] == 2
    assert reports.scores(only_a)["count"] == 6

    today = datetime.now(timezone.utc).date().isoformat()
    one_day = reports.parse_filters({"date_from": today, "date_to": today})
    perf = reports.performance(one_day)
    assert perf["unit"] == "hour" and len(perf["series"]) == 24
    assert perf["completed"] == 20 or perf["completed"] == 0  # "now - 1h" may be yesterday just after midnight


@pytest.mark.parametrize("role", ["admin", "manager", "viewer"])
def test_reports_page_renders_for_every_role(web, role, tmp_path):
    _seed(tmp_path)
    page = web[role].get("/reports/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'href="/reports/"' in html  # in the nav
    assert '<svg class="chart"' in html and "<script" not in html.split("</head>")[1]
    assert re.search(r'id="perf-completed">21<', html)
    assert re.search(r'id="success-rate">91\.3%<', html)
    assert '<tr class="stage-asr"><td>asr</td><td>21</td>' in html
    assert "TRANSCRIPTION_FAILED" in html and "ACCESS_DENIED" in html
    assert re.search(r'<td><span dir="ltr">50–60</span></td><td>2</td>', html)


def test_reports_filter_by_folder_and_dates(web, tmp_path):
    first, second = _seed(tmp_path)
    html = web["viewer"].get(f"/reports/?folder_id={second.id}").get_data(as_text=True)
    assert re.search(r'id="perf-completed">1<', html) and "TRANSCRIPTION_FAILED" not in html
    old = (datetime.now(timezone.utc) - timedelta(days=30)).date().isoformat()
    html = web["viewer"].get(f"/reports/?date_from={old}&date_to={old}").get_data(as_text=True)
    assert re.search(r'id="perf-completed">1<', html)
    assert "No problems." in html
    refused = web["viewer"].get("/reports/?date_from=nonsense&folder_id=-4")  # said plainly, not guessed
    assert refused.status_code == 400 and "must be a date written YYYY-MM-DD" in refused.get_data(as_text=True)


def test_reports_need_sign_in(web):
    response = web[None].get("/reports/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
