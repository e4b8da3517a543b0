"""price lists: subscription and usage prices

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    """Apply this revision."""
    op.create_table('price_list',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('vat_rate', sa.String(length=40), nullable=False),
    sa.Column('effective_from', sa.Float(), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_price_list_effective_from'), 'price_list', ['effective_from'],
                    unique=False)
    op.create_table('subscription_price',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('price_list_id', sa.Integer(), nullable=False),
    sa.Column('product', sa.String(length=255), nullable=True),
    sa.Column('release_url', sa.String(length=1024), nullable=True),
    sa.Column('shared', sa.Boolean(), nullable=False),
    sa.Column('monthly', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['price_list_id'], ['price_list.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_subscription_price_price_list_id'), 'subscription_price',
                    ['price_list_id'], unique=False)
    op.create_table('usage_price',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('price_list_id', sa.Integer(), nullable=False),
    sa.Column('resource', sa.String(length=255), nullable=False),
    sa.Column('unit', sa.String(length=64), nullable=False),
    sa.Column('unit_price', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['price_list_id'], ['price_list.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_usage_price_price_list_id'), 'usage_price', ['price_list_id'],
                    unique=False)


def downgrade():
    """Revert this revision."""
    op.drop_index(op.f('ix_usage_price_price_list_id'), table_name='usage_price')
    op.drop_table('usage_price')
    op.drop_index(op.f('ix_subscription_price_price_list_id'), table_name='subscription_price')
    op.drop_table('subscription_price')
    op.drop_index(op.f('ix_price_list_effective_from'), table_name='price_list')
    op.drop_table('price_list')
