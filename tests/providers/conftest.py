import pytest

from tests.support.cloud import Proxy


@pytest.fixture
def proxy_factory():
    """make(upstream_port, **kwargs) starts a misbehaving TCP proxy; all are closed at the end."""
    made = []

    def make(upstream_port, **kwargs):
        proxy = Proxy(upstream_port, **kwargs)
        made.append(proxy)
        return proxy

    yield make
    for proxy in made:
        proxy.close()
