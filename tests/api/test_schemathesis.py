"""Schemathesis over /api/openapi.json against the app served on 127.0.0.1 with real
PostgreSQL and Redis, as an admin (every operation allowed): generated requests — valid
(positive) and invalid (negative) — must never get a server error. The number of generated
cases is printed (`-s` shows it) and asserted to be substantial.

(schemathesis' own pytest plugin does not run under pytest 9 yet, so each operation's
strategies are driven with hypothesis directly.)"""

import time

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

# Streams never end by themselves: they are tested in test_live.py.
SKIP = {("GET", "/api/batch/status/stream")}
EXAMPLES = {GenerationMode.POSITIVE: 12, GenerationMode.NEGATIVE: 8}


@pytest.mark.slow
def test_generated_requests_never_get_a_server_error(live_server, tokens, monkeypatch, app, ctx):
    from tests.support.helpers import configure

    configure(scanning={"fileSettleSeconds": 0})
    monkeypatch.setitem(app.config, "EVENTS_TOKEN", "schemathesis-events-token")
    schema = schemathesis.openapi.from_url(live_server + "/api/openapi.json")
    headers = {"Authorization": f"Bearer {tokens['admin']}"}
    counts, failures, started = {"cases": 0, "operations": 0}, [], time.monotonic()

    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIP:
            continue
        counts["operations"] += 1
        for mode, examples in EXAMPLES.items():

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=examples,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def run(case):
                counts["cases"] += 1
                merged = {**(case.headers or {}), **headers}  # always the admin: reach the handlers
                case.call_and_validate(base_url=live_server, headers=merged, checks=[not_a_server_error], timeout=30)

            try:
                run()
            except Exception as exc:  # keep going: report every failing operation at once
                failures.append(f"{operation.method.upper()} {operation.path} ({mode.value}): {exc}"[:2000])

    print(
        f"\nschemathesis: {counts['cases']} generated cases over {counts['operations']} operations "
        f"in {time.monotonic() - started:.1f} s"
    )
    assert not failures, "\n\n".join(failures)
    assert counts["cases"] >= 300
