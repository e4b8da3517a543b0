"""release catalogued flag: catalogue entries apart from the releases requests merely named

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    """Apply this revision: add the flag, set on the releases that look registered (a product,
    a version or a supply: what only ``catalogue.add_release`` and ``supply.supply`` give)."""
    op.add_column('software_release', sa.Column('catalogued', sa.Boolean(),
                                                server_default=sa.false(), nullable=False))
    release = sa.table('software_release', sa.column('id'), sa.column('catalogued'),
                       sa.column('product_id'), sa.column('version'))
    supply = sa.table('supply', sa.column('release_id'))
    op.execute(release.update().where(sa.or_(
        release.c.product_id.is_not(None), release.c.version != '',
        sa.exists().where(supply.c.release_id == release.c.id),
    )).values(catalogued=sa.true()))


def downgrade():
    """Revert this revision."""
    op.drop_column('software_release', 'catalogued')  # SQLite >= 3.35 drops it in place
