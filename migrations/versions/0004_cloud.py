"""the storage service's own checksum of a file (ETag/MD5/CRC), for duplicate detection
without downloading

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-25 12:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('file_processing_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source_checksum', sa.String(length=100), nullable=True))
        batch_op.create_index(batch_op.f('ix_file_processing_records_source_checksum'), ['source_checksum'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('file_processing_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_file_processing_records_source_checksum'))
        batch_op.drop_column('source_checksum')
