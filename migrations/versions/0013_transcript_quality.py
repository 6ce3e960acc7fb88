"""Sales calls: the transcript's quality verdict ("ok" | "needs_review") and its reasons

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-02 03:30:00

Calls filed before this revision are "ok": they were scored, and nothing judged them.
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0013'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('sales_calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('quality', sa.String(length=20), server_default='ok', nullable=False))
        batch_op.add_column(sa.Column('quality_reasons', sa.JSON().with_variant(
            postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))
        batch_op.create_index(batch_op.f('ix_sales_calls_quality'), ['quality'], unique=False)


def downgrade():
    with op.batch_alter_table('sales_calls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sales_calls_quality'))
        batch_op.drop_column('quality_reasons')
        batch_op.drop_column('quality')
