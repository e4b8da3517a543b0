"""SyncML partnerships: anchors, item map and digests per person, device and store

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    """Apply this revision."""
    op.create_table('sync_partnership',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('device', sa.String(length=255), nullable=False),
    sa.Column('store', sa.String(length=64), nullable=False),
    sa.Column('client_anchor', sa.String(length=64), nullable=False),
    sa.Column('server_anchor', sa.String(length=64), nullable=False),
    sa.Column('mapping', sa.JSON(), nullable=False),
    sa.Column('digests', sa.JSON(), nullable=False),
    sa.Column('synced_at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('person_id', 'device', 'store')
    )


def downgrade():
    """Revert this revision."""
    op.drop_table('sync_partnership')
