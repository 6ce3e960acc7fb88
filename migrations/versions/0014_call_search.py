"""Search over what the calls say: sales_calls.search_text (the transcript normalized for
Hebrew, words also without their prefixes; see webapp/services/search.py), filled for the
calls already filed. PostgreSQL: pg_trgm, a GIN full-text index ('simple' configuration) and
a GIN trigram index. SQLite: an FTS5 table over search_text kept in step by triggers (a later
migration that has SQLite rebuild sales_calls in batch mode drops them and must create them again).

Revision ID: 0014
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

from webapp.services.search import FTS_TABLE, reindex

revision = '0014'
down_revision = '0011'
branch_labels = None
depends_on = None

TRIGGERS = {
    "insert": f"AFTER INSERT ON sales_calls BEGIN "
              f"INSERT INTO {FTS_TABLE}(rowid, search_text) VALUES (new.id, new.search_text); END",
    "delete": f"AFTER DELETE ON sales_calls BEGIN "
              f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
              f"END",
    "update": f"AFTER UPDATE OF search_text ON sales_calls BEGIN "
              f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
              f"INSERT INTO {FTS_TABLE}(rowid, search_text) VALUES (new.id, new.search_text); END",
}


def upgrade():
    with op.batch_alter_table('sales_calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_text', sa.Text(), nullable=True))
    reindex(op.get_bind())
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_sales_calls_search_fts ON sales_calls "
                   "USING gin (to_tsvector('simple'::regconfig, search_text))")
        op.execute("CREATE INDEX ix_sales_calls_search_trgm ON sales_calls USING gin (search_text gin_trgm_ops)")
    else:
        op.execute(f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(search_text, content='sales_calls', "
                   "content_rowid='id')")
        op.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")
        for name, body in TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {FTS_TABLE}_{name} {body}")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_sales_calls_search_trgm")
        op.execute("DROP INDEX IF EXISTS ix_sales_calls_search_fts")
    else:
        for name in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {FTS_TABLE}_{name}")
        op.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")
    with op.batch_alter_table('sales_calls', schema=None) as batch_op:
        batch_op.drop_column('search_text')
