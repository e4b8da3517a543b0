"""The monitoring's facts: when a computer last called, since when an instance is in error

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    """Apply this revision (columns added in place: other tables refer to both)."""
    op.add_column('computer', sa.Column('contacted_at', sa.Float(), nullable=True))
    op.add_column('software_instance', sa.Column('error_since', sa.Float(), nullable=True))


def downgrade():
    """Revert this revision (SQLite >= 3.35 drops the columns in place)."""
    op.drop_column('software_instance', 'error_since')
    op.drop_column('computer', 'contacted_at')
