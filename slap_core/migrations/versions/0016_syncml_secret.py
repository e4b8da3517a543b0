"""a person's SyncML secret, kept as the digest SyncML's MD5 authentication hashes

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    """Apply this revision (a column added in place: other tables refer to person)."""
    op.add_column('person', sa.Column('syncml_digest', sa.String(length=24), nullable=True))


def downgrade():
    """Revert this revision (SQLite >= 3.35 drops the column in place)."""
    op.drop_column('person', 'syncml_digest')
