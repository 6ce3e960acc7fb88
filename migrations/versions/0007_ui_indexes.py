"""Indexes for the web pages at 100,000 files: the dashboard's recent problems (newest
updated_at among records with an error code) and throughput / reports (finished files by
status and finished_at). Found with EXPLAIN ANALYZE in bench/ui.py: both were full scans.

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_records_status_finished", "file_processing_records", ["status", "finished_at"])
    op.create_index("ix_records_problems_updated", "file_processing_records", ["updated_at"],
                    postgresql_where=sa.text("error_code IS NOT NULL"),
                    sqlite_where=sa.text("error_code IS NOT NULL"))


def downgrade():
    op.drop_index("ix_records_problems_updated", table_name="file_processing_records")
    op.drop_index("ix_records_status_finished", table_name="file_processing_records")
