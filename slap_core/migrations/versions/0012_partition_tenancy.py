"""partition tenancies: which instance held a partition when (usage is billed by it)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    """Apply this revision: the table, and a tenancy for every partition held now, from its
    instance's creation (earlier tenants are not known)."""
    op.create_table('partition_tenancy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partition_id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('start_at', sa.Float(), nullable=False),
    sa.Column('stop_at', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['software_instance.id'], ),
    sa.ForeignKeyConstraint(['partition_id'], ['partition.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_partition_tenancy_partition', 'partition_tenancy',
                    ['partition_id', 'start_at'], unique=False)
    partition = sa.table('partition', sa.column('id'), sa.column('instance_id'))
    instance = sa.table('software_instance', sa.column('id'), sa.column('created_at'))
    tenancy = sa.table('partition_tenancy', sa.column('partition_id'), sa.column('instance_id'),
                       sa.column('start_at'))
    op.execute(tenancy.insert().from_select(
        ['partition_id', 'instance_id', 'start_at'],
        sa.select(partition.c.id, partition.c.instance_id, instance.c.created_at)
        .join(instance, partition.c.instance_id == instance.c.id)))


def downgrade():
    """Revert this revision."""
    op.drop_index('ix_partition_tenancy_partition', table_name='partition_tenancy')
    op.drop_table('partition_tenancy')
