"""One Alembic history that matches the models, on PostgreSQL and on SQLite."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tests.support.helpers import embedded_env, run_flask
from webapp.extensions import db


def test_the_migrations_build_exactly_the_models_on_postgresql(ctx):
    with db.engine.connect() as conn:  # with the options `flask db check` uses
        diff = compare_metadata(
            MigrationContext.configure(conn, opts=ctx.extensions["migrate"].configure_args), db.metadata
        )
    assert diff == []


def test_the_migrations_apply_on_sqlite_and_go_down_again(tmp_path):
    env = embedded_env(tmp_path)
    for args in (["db", "upgrade"], ["db", "check"], ["db", "downgrade", "base"], ["db", "upgrade"]):
        result = run_flask(env, *args, timeout=120)
        assert result.returncode == 0, (args, result.stderr[-2000:])
