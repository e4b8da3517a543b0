"""Sign-up requests and the outbox of mails to send

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

from alembic import op
import sqlalchemy as sa


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    """Apply this revision."""
    op.create_table('signup_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=32), nullable=True),
    sa.Column('login', sa.String(length=255), nullable=False),
    sa.Column('email', sa.String(length=255), nullable=False),
    sa.Column('full_name', sa.String(length=255), nullable=False),
    sa.Column('organisation', sa.String(length=255), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('key_digest', sa.String(length=64), nullable=True),
    sa.Column('requested_from', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('confirmed_at', sa.Float(), nullable=True),
    sa.Column('decided_at', sa.Float(), nullable=True),
    sa.Column('decided_by', sa.String(length=255), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key_digest'),
    sa.UniqueConstraint('reference')
    )
    op.create_index(op.f('ix_signup_request_created_at'), 'signup_request', ['created_at'],
                    unique=False)
    op.create_index(op.f('ix_signup_request_email'), 'signup_request', ['email'], unique=False)
    op.create_index(op.f('ix_signup_request_login'), 'signup_request', ['login'], unique=False)
    op.create_index(op.f('ix_signup_request_requested_from'), 'signup_request',
                    ['requested_from'], unique=False)
    op.create_table('outgoing_mail',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recipient', sa.String(length=255), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('sent_at', sa.Float(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_outgoing_mail_sent_at'), 'outgoing_mail', ['sent_at'], unique=False)


def downgrade():
    """Revert this revision."""
    op.drop_index(op.f('ix_outgoing_mail_sent_at'), table_name='outgoing_mail')
    op.drop_table('outgoing_mail')
    op.drop_index(op.f('ix_signup_request_requested_from'), table_name='signup_request')
    op.drop_index(op.f('ix_signup_request_login'), table_name='signup_request')
    op.drop_index(op.f('ix_signup_request_email'), table_name='signup_request')
    op.drop_index(op.f('ix_signup_request_created_at'), table_name='signup_request')
    op.drop_table('signup_request')
