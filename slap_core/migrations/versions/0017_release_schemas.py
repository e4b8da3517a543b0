"""releases keep their parameter schemas (software.cfg.json, resolved) or why they have none

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    """Apply this revision (columns added in place: other tables refer to software_release)."""
    op.add_column('software_release', sa.Column('parameter_schema', sa.JSON(), nullable=True))
    op.add_column('software_release', sa.Column('schema_error', sa.Text(), nullable=True))


def downgrade():
    """Revert this revision (SQLite >= 3.35 drops the columns in place)."""
    op.drop_column('software_release', 'schema_error')
    op.drop_column('software_release', 'parameter_schema')
