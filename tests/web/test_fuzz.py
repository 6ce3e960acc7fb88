"""Generated requests against every page and form of the app (the JSON API has its own in
tests/api/test_schemathesis.py), signed in as an admin with the CSRF token, on real PostgreSQL
and Redis with real records behind the ids: path values, query strings and form fields
full of huge, negative and fractional numbers, inf/nan, calendar ends, NUL and control
characters, long strings, deep brackets and unicode. No answer may be a server error.

The routes are walked from the app's url_map, so a new page is fuzzed without a change
here. Values never name a host other than 127.0.0.1 (the only outbound fields, storage and
notification settings, get local or unusable values), and no worker runs, so nothing is
sent anywhere."""

import re
import time
import zlib
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from tests.support.env import ROOT as ENV_ROOT
from tests.support.helpers import configure
from tests.support.recordings import write_calls

ROOT = Path(ENV_ROOT)
EXAMPLES = 16  # per route and method
SKIP = {"/logout", "/healthz"}  # signing out would end the fuzzing session; healthz takes nothing

TEXT = st.characters(exclude_categories=("Cc", "Cs"))
CLEAN = st.one_of(
    st.sampled_from(
        [
            "99999999999999999999",
            "-99999999999999999999",
            "2147483648",
            "-1",
            "0",
            "1",
            "2",
            "1.5",
            "1e308",
            "-1e308",
            "inf",
            "-inf",
            "nan",
            "NaN",
            "9999-12-31",
            "0001-01-01",
            "2024-02-30",
            "2024-01-01",
            "[" * 50000,
            "{" * 5000,
            '{"type": "nope"}',
            '{"type": "rubric", "rubric": {}}',
            '{"type": "faster_whisper", "beam_size": 1e308}',
            "[]",
            "null",
            "true",
            "on",
            "",
            " ",
            "\u202e",
            "x" * 20000,
            "../../../../etc/passwd",
            "%00",
            "' OR 1=1 --",
            "<script>x</script>",
            "http://127.0.0.1:9/hook",
            "viewer",
            "admin",
            "he",
        ]
    ),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats().map(str),
    st.text(TEXT, max_size=40),
    st.text(TEXT, max_size=3).map(lambda s: s * 3000),
)
CONTROL = st.one_of(st.sampled_from(["\x00", "a\x00b", "\x1b[31m", "ü@x.io\x00", "\x7f"]), st.text(max_size=20))
# Mostly values that pass the control-character check, so the views themselves are reached.
NASTY = st.one_of(CLEAN, CLEAN, CLEAN, CLEAN, CLEAN, CONTROL)
REDIRECTS = st.one_of(
    st.sampled_from(
        [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "/files/",
            "javascript:alert(1)",
            "/\t/evil.example",
        ]
    ),
    NASTY,
)


def _template_fields():
    names = set()
    for template in (ROOT / "templates").rglob("*.html"):
        names.update(re.findall(r'name="([a-z_.]+)"', template.read_text(encoding="utf-8")))
    return names - {"csrf_token", "viewport"}


def _field_names():
    from webapp.services import settings as settings_service

    names = _template_fields() | {
        "page",
        "per_page",
        "before_id",
        "document",
        "cfg.path",
        "cfg.recursive",
        "cfg.url",
        "cfg.secret",
    }
    names |= {f["path"] for section in settings_service.schema() for f in section["fields"]}
    return sorted(names)


def _value(name, folder_dir, ids):
    """Fields that could lead outside are given local or unusable values only; the checked
    kinds are often given a good value, so that the view behind the check is reached."""
    if name in ("page", "per_page"):
        return st.one_of(st.sampled_from(["1", "2"]), NASTY)
    if name.endswith(("_id", "_ids")) and name.rstrip("s") in ids:
        return st.one_of(st.sampled_from(ids[name.rstrip("s")]), NASTY)
    if name in ("date_from", "date_to"):
        return st.one_of(st.sampled_from(["2024-01-01", "2999-12-31", "1970-01-01"]), NASTY)
    if name in ("back", "next"):
        return REDIRECTS
    if name == "cfg.path":
        return st.sampled_from([folder_dir, "", "relative/dir", "\x00", folder_dir + "/../nowhere"])
    if name == "cfg.url":
        return st.sampled_from(["http://127.0.0.1:9/hook", "not a url", "", "http://[::1", "\x00"])
    if name == "storage_type":
        return st.one_of(st.just("local"), st.text(max_size=10))
    if name == "type":
        return st.one_of(st.just("webhook"), st.text(max_size=10))
    return NASTY


def _fields(names, folder_dir, ids):
    checked = ["page", "per_page", "folder_id", "job_id", "customer_id", "file_id", "before_id", "date_from", "date_to"]
    name = st.one_of(
        st.sampled_from(names),
        st.sampled_from(names),
        st.sampled_from(names),
        st.sampled_from(checked),
        st.text(TEXT, max_size=12),
        st.text(max_size=6),
    )
    chosen = st.lists(name, max_size=5, unique=True)
    return chosen.flatmap(lambda keys: st.fixed_dictionaries({k: _value(k, folder_dir, ids) for k in keys}))


def _path_value(real):
    known = st.sampled_from(real)
    return st.one_of(
        known,
        known,
        known,
        st.integers(min_value=-5, max_value=2**70).map(str),
        st.text(max_size=12).map(lambda s: quote(s, safe="")).filter(bool),
    )


@pytest.fixture
def seeded(ctx, web, tmp_path, cli):
    """A folder, a job, processed files with their calls, a customer, a notification."""
    from webapp.extensions import db
    from webapp.models import Customer, NotificationConfig, SalesCall, User

    configure(scanning={"fileSettleSeconds": 0})
    write_calls(tmp_path, 2)
    result = cli.invoke(args=["batch", "run", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    call = db.session.scalars(sa.select(SalesCall).order_by(SalesCall.id)).first()
    customer = Customer(name="דנה כהן", phone="+972501234567", call_count=1)
    db.session.add(customer)
    db.session.flush()
    call.customer_id = customer.id
    notification = NotificationConfig(
        name="ops", type="webhook", config={"url": "http://127.0.0.1:9/hook"}, conditions=["file_failed"]
    )
    db.session.add(notification)
    db.session.commit()
    ids = {
        "call_id": [str(call.id)],
        "file_id": [str(call.file_id)],
        "job_id": [str(call.job_id)],
        "folder_id": [str(call.file.folder_id)],
        "customer_id": [str(customer.id)],
        "config_id": [str(notification.id)],
        "user_id": [str(u) for u in db.session.scalars(sa.select(User.id).order_by(User.id))],
    }
    return ids, str(tmp_path)


def _routes(app):
    """(method, rule) of every page route, the deleting ones last (they remove the seeded ids)."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/api", "/static")) or rule.rule in SKIP:
            continue
        for method in sorted(rule.methods & {"GET", "POST"}):
            found.append((method, rule))
    return sorted(found, key=lambda item: ("delete" in item[1].rule or "reset" in item[1].rule, item[1].rule, item[0]))


@pytest.mark.slow
def test_generated_page_requests_never_get_a_server_error(app, web, seeded):
    from webapp.extensions import db

    ids, folder_dir = seeded
    admin, names = web["admin"], _field_names()
    counts, failures, started = {"requests": 0, "routes": 0, "4xx": 0}, [], time.monotonic()

    for method, rule in _routes(app):
        counts["routes"] += 1
        args = {name: _path_value(ids.get(name, ["1"])) for name in rule.arguments}

        @given(
            path_args=st.fixed_dictionaries(args),
            query=_fields(names, folder_dir, ids),
            form=_fields(names, folder_dir, ids),
            htmx=st.booleans(),
        )
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.generate],
        )  # no shrinking: a failure is reported as found, in bounded time
        @seed(zlib.crc32(f"{method} {rule.rule}".encode()))  # repeatable, and different for each route
        def run(path_args, query, form, htmx):
            path = rule.rule  # noqa: B023 (run() is called at once, in this iteration)
            for name, value in path_args.items():
                path = re.sub(rf"<[a-z]+:{name}>", value, path)
            url = path + ("?" + urlencode(query) if query else "")
            headers = {"HX-Request": "true"} if htmx else {}
            try:
                if method == "GET":  # noqa: B023 (as above)
                    response = admin.get(url, headers=headers)
                else:
                    response = admin.post(url, data=form, headers=headers)
            except Exception:  # a server error (the test app propagates it): free the shared session
                db.session.rollback()
                raise
            counts["requests"] += 1
            counts[response.status_code // 100 * 100] = counts.get(response.status_code // 100 * 100, 0) + 1
            assert response.status_code < 500, (
                method,  # noqa: B023 (as above)
                url[:300],
                response.get_data()[:1500].decode(errors="replace"),
            )

        try:
            run()
        except Exception as exc:  # keep going: report every failing route at once
            failures.append(f"{method} {rule.rule}: {exc}"[:3000])

    answers = ", ".join(f"{counts[k]} {k // 100}xx" for k in (200, 300, 400) if k in counts)
    print(
        f"\nweb fuzz: {counts['requests']} generated requests over {counts['routes']} routes ({answers}) "
        f"in {time.monotonic() - started:.1f} s"
    )
    assert not failures, "\n\n".join(failures)
    assert counts["routes"] >= 60 and counts["requests"] >= counts["routes"] * EXAMPLES // 2
