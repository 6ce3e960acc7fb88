import pytest

from tests.support.outage import Outage


@pytest.fixture
def outage(service_env, monkeypatch):
    """Worker processes started from here on reach PostgreSQL through an Outage, which the
    test cuts and restores."""
    made = Outage()
    monkeypatch.setitem(service_env, "DATABASE_URL", made.url(service_env["DATABASE_URL"]))
    return made
