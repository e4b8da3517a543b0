"""subscriptions: an instance tree as it is billed

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    """Apply this revision: the table, and an unpriced open subscription for every live tree
    (what existed before prices did), closed for the archived ones."""
    op.create_table('subscription',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tree_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('price_list_id', sa.Integer(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('monthly', sa.String(length=40), nullable=True),
    sa.Column('start_at', sa.Float(), nullable=False),
    sa.Column('stop_at', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['price_list_id'], ['price_list.id'], ),
    sa.ForeignKeyConstraint(['tree_id'], ['instance_tree.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tree_id')
    )
    op.create_index(op.f('ix_subscription_person_id'), 'subscription', ['person_id'],
                    unique=False)
    tree = sa.table('instance_tree', sa.column('id'), sa.column('owner_id'),
                    sa.column('created_at'), sa.column('archived'))
    subscription = sa.table('subscription', sa.column('tree_id'), sa.column('person_id'),
                            sa.column('start_at'), sa.column('stop_at'))
    op.execute(subscription.insert().from_select(
        ['tree_id', 'person_id', 'start_at', 'stop_at'],
        sa.select(tree.c.id, tree.c.owner_id, tree.c.created_at,
                  sa.case((tree.c.archived, tree.c.created_at), else_=sa.null()))))


def downgrade():
    """Revert this revision."""
    op.drop_index(op.f('ix_subscription_person_id'), table_name='subscription')
    op.drop_table('subscription')
