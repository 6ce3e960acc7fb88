"""Users: each person's own time zone for the times the pages show; notification channels:
the language their messages are written in

Revision ID: 0017
Revises: 0011
Create Date: 2026-12-02 03:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('timezone', sa.String(length=64), nullable=True))
    with op.batch_alter_table('notification_configs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=5), nullable=True))


def downgrade():
    with op.batch_alter_table('notification_configs', schema=None) as batch_op:
        batch_op.drop_column('language')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('timezone')
