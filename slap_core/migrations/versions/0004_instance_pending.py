"""instance pending flag: the allocation pass reads only the instances waiting for a place

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    """Apply this revision: add the flag, set it on the live instances without a place."""
    # A plain ADD COLUMN (SQLite too): a batch would copy the table, which its foreign keys
    # forbid once it holds rows.
    op.add_column('software_instance', sa.Column('pending', sa.Boolean(),
                                                 server_default=sa.false(), nullable=False))
    op.create_index('ix_instance_pending', 'software_instance', ['pending', 'id'], unique=False)
    instance = sa.table('software_instance', sa.column('id'), sa.column('pending'),
                        sa.column('shared'), sa.column('archived'),
                        sa.column('requested_state'), sa.column('host_instance_id'))
    partition = sa.table('partition', sa.column('instance_id'))
    placed = sa.exists().where(partition.c.instance_id == instance.c.id)
    op.execute(instance.update().where(
        instance.c.archived == sa.false(),
        instance.c.requested_state != 'destroyed',
        sa.or_(sa.and_(instance.c.shared == sa.false(), ~placed),
               sa.and_(instance.c.shared == sa.true(), instance.c.host_instance_id.is_(None))),
    ).values(pending=sa.true()))
    if op.get_bind().dialect.name == 'postgresql':
        # The new column has no statistics (a constant default rewrites no row, so autovacuum
        # sees no change): without them the planner scans the table instead of the index.
        op.execute('ANALYZE software_instance')


def downgrade():
    """Revert this revision."""
    op.drop_index('ix_instance_pending', table_name='software_instance')
    op.drop_column('software_instance', 'pending')  # SQLite >= 3.35 drops it in place
