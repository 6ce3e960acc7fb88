"""Folders: how files are found and when they are processed (processing windows and times)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 00:30:00

A folder's cron schedule used to run beside its polling; it now belongs to the "schedule"
monitor (scan only at those times), so folders that had one are given that monitor.
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('external_folders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('monitor_warning', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('process_mode', sa.String(length=20), server_default='immediate',
                                      nullable=False))
        batch_op.add_column(sa.Column('window_start', sa.String(length=5), nullable=True))
        batch_op.add_column(sa.Column('window_end', sa.String(length=5), nullable=True))
        batch_op.add_column(sa.Column('process_cron', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('last_released_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE external_folders SET monitor_type = 'schedule' "
               "WHERE cron_schedule IS NOT NULL AND cron_schedule <> ''")


def downgrade():
    op.execute("UPDATE external_folders SET monitor_type = 'polling' WHERE monitor_type = 'schedule'")
    with op.batch_alter_table('external_folders', schema=None) as batch_op:
        batch_op.drop_column('last_released_at')
        batch_op.drop_column('process_cron')
        batch_op.drop_column('window_end')
        batch_op.drop_column('window_start')
        batch_op.drop_column('process_mode')
        batch_op.drop_column('monitor_warning')
