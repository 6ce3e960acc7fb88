"""Small helpers shared by tests."""

import json
import os
import subprocess
import sys
import time

from tests.support.env import ROOT
from webapp.batch import batch_config as settings


def configure(**sections):
    """Save the global batch settings with the given sections changed, e.g.
    configure(scanning={"fileSettleSeconds": 0}, retryPolicy={"maxRetries": 0})."""
    document = settings.load().model_dump()
    for section, values in sections.items():
        document[section].update(values)
    config, errors = settings.validate(document)
    assert not errors, errors
    settings.save(config)
    return config


def store_unchecked(**sections):
    """Store settings the way an older release (before the providers checked them on save) may
    have left them: only their shape is checked, as `settings.load` does."""
    document = settings.load().model_dump()
    for section, values in sections.items():
        document[section].update(values)
    settings.save(settings.BatchConfig.model_validate(document))


def run_json(cli, path, *args):
    result = cli.invoke(args=["batch", "run", str(path), "--json", *args])
    report = json.loads(result.stdout) if result.stdout.strip().startswith("{") else None
    return result, report


def wait_for(predicate, timeout=60, interval=0.2, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


def embedded_env(instance, **extra):
    """The environment of an installation on its embedded defaults (no DATABASE_URL or
    REDIS_URL: SQLite and the in-process queue), its instance folder at `instance`."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(INSTANCE_PATH=str(instance), FLASK_APP="wsgi.py", **extra)
    return env


def run_flask(env, *args, timeout=300):
    """`flask <args>` in a process of its own, in the repository, with the environment `env`."""
    return subprocess.run(
        [sys.executable, "-m", "flask", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
