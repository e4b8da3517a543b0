"""certificates issued by the master's CA

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    """Apply this revision."""
    op.create_table('certificate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('serial', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('common_name', sa.String(length=255), nullable=False),
    sa.Column('computer_id', sa.Integer(), nullable=True),
    sa.Column('partition_id', sa.Integer(), nullable=True),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('certificate', sa.Text(), nullable=False),
    sa.Column('private_key', sa.Text(), nullable=True),
    sa.Column('issued_at', sa.Float(), nullable=False),
    sa.Column('not_after', sa.Float(), nullable=False),
    sa.Column('revoked_at', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['computer_id'], ['computer.id'], ),
    sa.ForeignKeyConstraint(['instance_id'], ['software_instance.id'], ),
    sa.ForeignKeyConstraint(['partition_id'], ['partition.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('serial')
    )
    op.create_index(op.f('ix_certificate_computer_id'), 'certificate', ['computer_id'],
                    unique=False)
    op.create_index(op.f('ix_certificate_partition_id'), 'certificate', ['partition_id'],
                    unique=False)
    op.create_index(op.f('ix_certificate_person_id'), 'certificate', ['person_id'], unique=False)


def downgrade():
    """Revert this revision."""
    op.drop_index(op.f('ix_certificate_person_id'), table_name='certificate')
    op.drop_index(op.f('ix_certificate_partition_id'), table_name='certificate')
    op.drop_index(op.f('ix_certificate_computer_id'), table_name='certificate')
    op.drop_table('certificate')
