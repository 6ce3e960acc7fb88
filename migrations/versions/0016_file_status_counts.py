"""File counts by folder and status, kept by the database itself; indexes for the filtered
file list at a million records.

Revision ID: 0016
Revises: 0011

The dashboard, the folders list, the metrics and the file list's totals used to count every
record with a GROUP BY (about 0.5 s at a million records). `file_status_counts` holds the
same figures, moved by triggers in the transaction of every INSERT, status (or folder)
UPDATE and DELETE of a record, whichever code runs it (a bulk insert of a scan, a status
transition, a folder's cascading delete): the counts cannot drift from the records.

PostgreSQL counts an insert or a delete once per statement (transition tables, so a scan's
bulk insert moves each counter once, not once per row); a status change moves two counter
rows, locked in key order so that two changes never wait for each other in a cycle.
SQLite counts row by row. (A later SQLite migration that rebuilds file_processing_records
with batch_alter_table drops its triggers: create them again there.)
"""
import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0014'
branch_labels = None
depends_on = None

POSTGRESQL = [
    """
    CREATE FUNCTION file_status_counts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO file_status_counts (folder_id, status, files)
      SELECT folder_id, status, count(*) FROM inserted_records
      GROUP BY folder_id, status ORDER BY folder_id, status
      ON CONFLICT (folder_id, status) DO UPDATE SET files = file_status_counts.files + EXCLUDED.files;
      RETURN NULL;
    END $$
    """,
    """
    CREATE FUNCTION file_status_counts_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE file_status_counts c SET files = c.files - d.files
      FROM (SELECT folder_id, status, count(*) AS files FROM deleted_records GROUP BY folder_id, status) d
      WHERE c.folder_id = d.folder_id AND c.status = d.status;
      RETURN NULL;
    END $$
    """,
    """
    CREATE FUNCTION file_status_counts_moved() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF (OLD.folder_id, OLD.status) < (NEW.folder_id, NEW.status) THEN
        UPDATE file_status_counts SET files = files - 1 WHERE folder_id = OLD.folder_id AND status = OLD.status;
      END IF;
      INSERT INTO file_status_counts (folder_id, status, files) VALUES (NEW.folder_id, NEW.status, 1)
      ON CONFLICT (folder_id, status) DO UPDATE SET files = file_status_counts.files + 1;
      IF (OLD.folder_id, OLD.status) > (NEW.folder_id, NEW.status) THEN
        UPDATE file_status_counts SET files = files - 1 WHERE folder_id = OLD.folder_id AND status = OLD.status;
      END IF;
      RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER file_status_counts_insert AFTER INSERT ON file_processing_records
    REFERENCING NEW TABLE AS inserted_records FOR EACH STATEMENT EXECUTE FUNCTION file_status_counts_inserted()
    """,
    """
    CREATE TRIGGER file_status_counts_delete AFTER DELETE ON file_processing_records
    REFERENCING OLD TABLE AS deleted_records FOR EACH STATEMENT EXECUTE FUNCTION file_status_counts_deleted()
    """,
    """
    CREATE TRIGGER file_status_counts_update AFTER UPDATE OF status, folder_id ON file_processing_records
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.folder_id IS DISTINCT FROM NEW.folder_id)
    EXECUTE FUNCTION file_status_counts_moved()
    """,
    # TRUNCATE of the records (not of the counts with them) leaves no record to count
    """
    CREATE FUNCTION file_status_counts_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM file_status_counts;
      RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER file_status_counts_truncate AFTER TRUNCATE ON file_processing_records
    FOR EACH STATEMENT EXECUTE FUNCTION file_status_counts_truncated()
    """,
]

SQLITE = [
    """
    CREATE TRIGGER file_status_counts_insert AFTER INSERT ON file_processing_records BEGIN
      INSERT OR IGNORE INTO file_status_counts (folder_id, status, files) VALUES (NEW.folder_id, NEW.status, 0);
      UPDATE file_status_counts SET files = files + 1 WHERE folder_id = NEW.folder_id AND status = NEW.status;
    END
    """,
    """
    CREATE TRIGGER file_status_counts_delete AFTER DELETE ON file_processing_records BEGIN
      UPDATE file_status_counts SET files = files - 1 WHERE folder_id = OLD.folder_id AND status = OLD.status;
    END
    """,
    """
    CREATE TRIGGER file_status_counts_update AFTER UPDATE OF status, folder_id ON file_processing_records
    WHEN OLD.status IS NOT NEW.status OR OLD.folder_id IS NOT NEW.folder_id BEGIN
      UPDATE file_status_counts SET files = files - 1 WHERE folder_id = OLD.folder_id AND status = OLD.status;
      INSERT OR IGNORE INTO file_status_counts (folder_id, status, files) VALUES (NEW.folder_id, NEW.status, 0);
      UPDATE file_status_counts SET files = files + 1 WHERE folder_id = NEW.folder_id AND status = NEW.status;
    END
    """,
]


def upgrade():
    op.create_table(
        'file_status_counts',
        sa.Column('folder_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('files', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['folder_id'], ['external_folders.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('folder_id', 'status'),
    )
    op.create_index('ix_records_folder_status_id', 'file_processing_records', ['folder_id', 'status', 'id'])
    op.create_index('ix_records_status_id', 'file_processing_records', ['status', 'id'])
    op.execute("INSERT INTO file_status_counts (folder_id, status, files) "
               "SELECT folder_id, status, count(*) FROM file_processing_records GROUP BY folder_id, status")
    for statement in POSTGRESQL if op.get_bind().dialect.name == "postgresql" else SQLITE:
        op.execute(statement)


def downgrade():
    for name in ("insert", "delete", "update", "truncate"):
        if op.get_bind().dialect.name == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS file_status_counts_{name} ON file_processing_records")
        elif name != "truncate":
            op.execute(f"DROP TRIGGER IF EXISTS file_status_counts_{name}")
    if op.get_bind().dialect.name == "postgresql":
        for name in ("inserted", "deleted", "moved", "truncated"):
            op.execute(f"DROP FUNCTION IF EXISTS file_status_counts_{name}()")
    op.drop_index('ix_records_status_id', table_name='file_processing_records')
    op.drop_index('ix_records_folder_status_id', table_name='file_processing_records')
    op.drop_table('file_status_counts')
