"""Support tickets and their messages

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    """Apply this revision."""
    op.create_table('ticket',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=32), nullable=True),
    sa.Column('requester_id', sa.Integer(), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('tree_id', sa.Integer(), nullable=True),
    sa.Column('computer_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('turn', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('updated_at', sa.Float(), nullable=False),
    sa.Column('closed_at', sa.Float(), nullable=True),
    sa.Column('automatic', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['assignee_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['computer_id'], ['computer.id'], ),
    sa.ForeignKeyConstraint(['requester_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['tree_id'], ['instance_tree.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('reference')
    )
    op.create_index(op.f('ix_ticket_computer_id'), 'ticket', ['computer_id'], unique=False)
    op.create_index(op.f('ix_ticket_requester_id'), 'ticket', ['requester_id'], unique=False)
    op.create_index(op.f('ix_ticket_tree_id'), 'ticket', ['tree_id'], unique=False)
    op.create_table('ticket_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('posted_at', sa.Float(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('attachment_name', sa.String(length=255), nullable=True),
    sa.Column('attachment_type', sa.String(length=255), nullable=True),
    sa.Column('attachment_size', sa.Integer(), nullable=False),
    sa.Column('attachment', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_ticket_message_ticket_id'), 'ticket_message', ['ticket_id'],
                    unique=False)


def downgrade():
    """Revert this revision."""
    op.drop_index(op.f('ix_ticket_message_ticket_id'), table_name='ticket_message')
    op.drop_table('ticket_message')
    op.drop_index(op.f('ix_ticket_tree_id'), table_name='ticket')
    op.drop_index(op.f('ix_ticket_requester_id'), table_name='ticket')
    op.drop_index(op.f('ix_ticket_computer_id'), table_name='ticket')
    op.drop_table('ticket')
