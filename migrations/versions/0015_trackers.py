"""Trackers: named phrase lists counted in every call, with the starter trackers; the
moments of a redacted call's recording that are silenced for viewers

Revision ID: 0015
Revises: 0011
Create Date: 2026-12-02 03:10:00
"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0015'
down_revision = '0011'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
# The starters a new install begins with (editable on the Trackers page).
STARTERS = (
    ("מתחרים", ["בזק", "פרטנר", "סלקום", "HOT", "הוט", "yes", "גולן"]),
    ("ביטול", ["לבטל", "ביטול", "להתנתק", "התנתקות", "לעזוב"]),
    ("מחיר", ["מחיר", "יקר", "הנחה", "עולה", "זול"]),
)


def upgrade():
    trackers = op.create_table(
        'trackers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('phrases', JSON, nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name'),
    )
    op.create_table(
        'call_tracker_hits',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('call_id', sa.Integer(), nullable=False),
        sa.Column('tracker_id', sa.Integer(), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('times', JSON, nullable=False),
        sa.ForeignKeyConstraint(['call_id'], ['sales_calls.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['tracker_id'], ['trackers.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('call_id', 'tracker_id'),
    )
    with op.batch_alter_table('call_tracker_hits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_call_tracker_hits_call_id'), ['call_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_call_tracker_hits_tracker_id'), ['tracker_id'], unique=False)
    with op.batch_alter_table('sales_calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('redacted_spans', JSON, nullable=True))
    now = datetime.now(timezone.utc)
    op.bulk_insert(trackers, [{"name": name, "phrases": phrases, "created_at": now, "updated_at": now}
                              for name, phrases in STARTERS])


def downgrade():
    with op.batch_alter_table('sales_calls', schema=None) as batch_op:
        batch_op.drop_column('redacted_spans')
    with op.batch_alter_table('call_tracker_hits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_call_tracker_hits_tracker_id'))
        batch_op.drop_index(batch_op.f('ix_call_tracker_hits_call_id'))
    op.drop_table('call_tracker_hits')
    op.drop_table('trackers')
