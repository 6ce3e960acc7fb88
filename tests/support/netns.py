"""A network namespace with nothing but loopback, for tests that put a public address in a
URL: whatever the code under test does, no packet can leave the machine. 8.8.8.8 exists
inside it (on lo) to stand for a public server; its resolver is a DNS server the script
starts on 127.0.0.1:53 (tests/support/netns_probe.py)."""

import contextlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
import uuid

import pytest

from tests.support.env import ROOT

PUBLIC = "8.8.8.8"


def _ip(*args, check=True):
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


@contextlib.contextmanager
def loopback_namespace(tmp_path):
    """Yields run(script): it executes a Python snippet in a fresh loopback-only namespace and
    returns the JSON object its last output line holds (netns_probe.report). Skips the test
    where namespaces cannot be made."""
    if os.geteuid() != 0 or not shutil.which("ip"):
        pytest.skip("network namespaces cannot be made here (they need root and the `ip` command)")
    name = f"cb-{uuid.uuid4().hex[:10]}"
    made = _ip("netns", "add", name, check=False)
    if made.returncode != 0:
        pytest.skip(f"network namespaces cannot be made here: {made.stderr.strip()}")
    config_dir = f"/etc/netns/{name}"
    try:
        _ip("netns", "exec", name, "ip", "link", "set", "lo", "up")
        _ip("netns", "exec", name, "ip", "addr", "add", f"{PUBLIC}/32", "dev", "lo")
        os.makedirs(config_dir)
        with open(os.path.join(config_dir, "resolv.conf"), "w") as f:
            f.write("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
        instance = tmp_path / "instance"
        instance.mkdir()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(tmp_path),
            "PYTHONPATH": ROOT,  # the scripts import webapp and tests.support.netns_probe
            "INSTANCE_PATH": str(instance),
            "SECRET_KEY": "netns-probe-key",
            "LOG_LEVEL": "WARNING",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "NO_GCE_CHECK": "True",
        }

        def run(script, timeout=120):
            proc = subprocess.run(
                ["ip", "netns", "exec", name, sys.executable, "-c", textwrap.dedent(script)],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
            assert proc.returncode == 0, proc.stderr[-4000:]
            return json.loads(proc.stdout.strip().splitlines()[-1])

        yield run
    finally:
        _ip("netns", "del", name, check=False)
        shutil.rmtree(config_dir, ignore_errors=True)
