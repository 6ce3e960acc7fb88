"""The embedded default (SQLite): a new install starts with the Hebrew starter trackers, and
the tracker chart and the per-agent report read it the same way as PostgreSQL."""

import json
import subprocess
import sys

import pytest

from tests.support.env import ROOT
from tests.support.helpers import embedded_env, run_flask

pytestmark = pytest.mark.slow

SCRIPT = r"""
import json, uuid
from datetime import datetime, timezone
from webapp import create_app
from webapp.extensions import db
from webapp.models import SalesCall, Tracker
from webapp.services import agents, trackers

app = create_app()
with app.app_context():
    starters = {t.name: t.phrases for t in trackers.list_trackers()}
    now = datetime.now(timezone.utc)
    db.session.add(SalesCall(content_sha256=uuid.uuid4().hex * 2, call_uuid=str(uuid.uuid4()), agent="דנה",
                             called_at=now, overall_score=75.0, transcript="",
                             scores={"criteria": [{"id": "greeting", "label": "פתיחה", "score": 75}]},
                             segments=[{"start": 3.0, "end": 5.0, "text": "אנחנו בבזק, כמה זה עולה?"}]))
    db.session.commit()
    trackers.recount()
    filters = agents.parse_filters({})
    chart = trackers.chart(filters)
    print(json.dumps({"starters": starters, "chart": chart, "agents": agents.view(agents.report(filters))},
                     ensure_ascii=False, default=str))
"""


def test_starter_trackers_chart_and_agent_report_on_sqlite(tmp_path):
    env = embedded_env(tmp_path)
    upgrade = run_flask(env, "db", "upgrade", timeout=120)
    assert upgrade.returncode == 0, upgrade.stderr[-2000:]
    run = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    found = json.loads(run.stdout.strip().splitlines()[-1])
    assert set(found["starters"]) == {"מתחרים", "ביטול", "מחיר"}
    assert "בזק" in found["starters"]["מתחרים"] and "לבטל" in found["starters"]["ביטול"]
    chart = found["chart"]
    columns = map(list, zip(*[values for _label, values in chart["series"]], strict=True))
    per_tracker = dict(zip(chart["trackers"], columns, strict=True))
    assert sum(per_tracker["מתחרים"]) == 1 and sum(per_tracker["מחיר"]) == 1 and sum(per_tracker["ביטול"]) == 0
    [dana] = found["agents"]["agents"]
    assert (dana["agent"], dana["calls"], dana["average"], dana["criteria"]) == ("דנה", 1, 75.0, {"greeting": 75.0})
