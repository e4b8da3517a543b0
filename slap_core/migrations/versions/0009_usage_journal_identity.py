"""usage journals: a digest per journal (a replay is counted once), usage on the computer

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    """Apply this revision (journals received before have no digest: they are never matched).

    Columns are added in place and the uniqueness is an index: rebuilding usage_report (SQLite's
    batch mode) would break the foreign keys of usage_record."""
    op.add_column('usage_report', sa.Column('digest', sa.String(length=64), nullable=True))
    op.add_column('usage_report', sa.Column('record_count', sa.Integer(), server_default='0',
                                            nullable=False))
    op.create_index('uq_usage_report_digest', 'usage_report', ['computer_id', 'digest'],
                    unique=True)
    op.add_column('usage_record', sa.Column('on_computer', sa.Boolean(),
                                            server_default=sa.false(), nullable=False))


def downgrade():
    """Revert this revision."""
    op.drop_column('usage_record', 'on_computer')  # SQLite >= 3.35 drops it in place
    op.drop_index('uq_usage_report_digest', table_name='usage_report')
    op.drop_column('usage_report', 'record_count')
    op.drop_column('usage_report', 'digest')
