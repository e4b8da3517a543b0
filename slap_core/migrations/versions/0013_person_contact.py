"""people's contact cards: a phone number and an organisation

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    """Apply this revision (columns added in place: other tables refer to person)."""
    empty = sa.text("''")
    op.add_column('person', sa.Column('phone', sa.String(length=64), server_default=empty,
                                      nullable=False))
    op.add_column('person', sa.Column('organisation', sa.String(length=255),
                                      server_default=empty, nullable=False))


def downgrade():
    """Revert this revision (SQLite >= 3.35 drops the columns in place)."""
    op.drop_column('person', 'organisation')
    op.drop_column('person', 'phone')
