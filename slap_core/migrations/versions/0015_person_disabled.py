"""people can be disabled: they log in no more, what they own stays

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    """Apply this revision (a column added in place: other tables refer to person)."""
    op.add_column('person', sa.Column('disabled', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))


def downgrade():
    """Revert this revision (SQLite >= 3.35 drops the column in place)."""
    op.drop_column('person', 'disabled')
