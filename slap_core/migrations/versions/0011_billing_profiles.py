"""billing profiles and the seller; invoices keep who sold and bought, and the VAT rule's note

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    """Apply this revision (invoice's columns are added in place: other tables refer to it)."""
    op.create_table('billing_profile',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('organisation', sa.String(length=255), nullable=True),
    sa.Column('vat_code', sa.String(length=32), nullable=True),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('email', sa.String(length=255), nullable=True),
    sa.Column('updated_at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('person_id')
    )
    op.create_table('seller',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('registration', sa.String(length=64), nullable=True),
    sa.Column('vat_code', sa.String(length=32), nullable=True),
    sa.Column('email', sa.String(length=255), nullable=True),
    sa.Column('updated_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.add_column('invoice', sa.Column('seller', sa.JSON(), nullable=True))
    op.add_column('invoice', sa.Column('buyer', sa.JSON(), nullable=True))
    op.add_column('invoice', sa.Column('vat_note', sa.Text(), nullable=True))


def downgrade():
    """Revert this revision (SQLite >= 3.35 drops the columns in place)."""
    op.drop_column('invoice', 'vat_note')
    op.drop_column('invoice', 'buyer')
    op.drop_column('invoice', 'seller')
    op.drop_table('seller')
    op.drop_table('billing_profile')
