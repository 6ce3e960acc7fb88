"""Search over what the calls say: sales_calls.search_text (the transcript normalized for
Hebrew, words also without their prefixes; see webapp/services/search.py), filled for the
calls already filed. PostgreSQL: search_vector (its tsvector, 'simple' configuration, stored)
with a GIN index, and search_words (every word indexed, kept by a trigger) with a pg_trgm
index for near spellings. SQLite: an FTS5 table over search_text kept in step by triggers (a later
migration that has SQLite rebuild sales_calls in batch mode drops them and must create them again).

Revision ID: 0014
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

from webapp.services.search import FTS_TABLE, reindex

revision = '0014'
down_revision = '0013'
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
        op.execute("ALTER TABLE sales_calls ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
                   "(to_tsvector('simple'::regconfig, coalesce(search_text, ''))) STORED")
        op.execute("CREATE INDEX ix_sales_calls_search_vector ON sales_calls USING gin (search_vector)")
        op.execute("CREATE TABLE search_words (word text PRIMARY KEY)")
        op.execute("CREATE INDEX ix_search_words_trgm ON search_words USING gin (word gin_trgm_ops)")
        # Words in sorted order, so two transactions adding the same new words never deadlock.
        op.execute("CREATE FUNCTION search_words_add() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                   "INSERT INTO search_words (word) SELECT DISTINCT w FROM unnest(string_to_array(NEW.search_text, ' ')) "
                   "AS w WHERE w <> '' ORDER BY w ON CONFLICT DO NOTHING; RETURN NULL; END $$")
        op.execute("CREATE TRIGGER search_words_add AFTER INSERT OR UPDATE OF search_text ON sales_calls "
                   "FOR EACH ROW WHEN (NEW.search_text IS NOT NULL) EXECUTE FUNCTION search_words_add()")
        op.execute("INSERT INTO search_words (word) SELECT DISTINCT w FROM sales_calls, "
                   "unnest(string_to_array(search_text, ' ')) AS w WHERE w <> '' ORDER BY w ON CONFLICT DO NOTHING")
    else:
        op.execute(f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(search_text, content='sales_calls', "
                   "content_rowid='id')")
        op.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")
        for name, body in TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {FTS_TABLE}_{name} {body}")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS search_words_add ON sales_calls")
        op.execute("DROP FUNCTION IF EXISTS search_words_add()")
        op.execute("DROP TABLE IF EXISTS search_words")
        op.execute("DROP INDEX IF EXISTS ix_sales_calls_search_vector")
        op.execute("ALTER TABLE sales_calls DROP COLUMN IF EXISTS search_vector")
    else:
        for name in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {FTS_TABLE}_{name}")
        op.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")
    with op.batch_alter_table('sales_calls', schema=None) as batch_op:
        batch_op.drop_column('search_text')
