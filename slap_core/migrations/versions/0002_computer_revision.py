"""computer revision: bumped with every change to what the computer's poll shows

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    """Apply this revision."""
    with op.batch_alter_table('computer') as batch_op:
        batch_op.add_column(sa.Column('revision', sa.BigInteger(), server_default='0',
                                      nullable=False))


def downgrade():
    """Revert this revision."""
    with op.batch_alter_table('computer') as batch_op:
        batch_op.drop_column('revision')
