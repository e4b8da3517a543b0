"""invoices: invoices and credit notes with their lines and payment, invoice runs and numbers;
usage records' stop instant and invoice

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

import calendar
import time

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def _instant(text, fallback):
    try:
        return float(calendar.timegm(time.strptime((text or "").strip()[:10], "%Y-%m-%d")))
    except ValueError:
        return fallback


def upgrade():
    """Apply this revision; the stop instant of every usage record received before is read from
    its stop date (its journal's arrival when the date is not one). usage_record is rebuilt on
    SQLite (batch mode) to hold its foreign key: no table refers to it."""
    op.create_table('invoice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('period_start', sa.Float(), nullable=False),
    sa.Column('period_end', sa.Float(), nullable=False),
    sa.Column('issued_at', sa.Float(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('vat_rate', sa.String(length=40), nullable=False),
    sa.Column('subtotal', sa.String(length=40), nullable=False),
    sa.Column('vat', sa.String(length=40), nullable=False),
    sa.Column('total', sa.String(length=40), nullable=False),
    sa.Column('credits_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('paid_at', sa.Float(), nullable=True),
    sa.Column('payment_reference', sa.String(length=255), nullable=True),
    sa.Column('payment_recorded_at', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['credits_id'], ['invoice.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number'),
    sa.UniqueConstraint('person_id', 'period', 'kind', name='uq_invoice_period')
    )
    op.create_index(op.f('ix_invoice_person_id'), 'invoice', ['person_id'], unique=False)
    op.create_table('invoice_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('tree', sa.String(length=255), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('quantity', sa.String(length=40), nullable=False),
    sa.Column('unit', sa.String(length=64), nullable=False),
    sa.Column('unit_price', sa.String(length=40), nullable=False),
    sa.Column('amount', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_invoice_line_invoice_id'), 'invoice_line', ['invoice_id'],
                    unique=False)
    op.create_table('invoice_run',
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('start', sa.Float(), nullable=False),
    sa.Column('end', sa.Float(), nullable=False),
    sa.Column('ran_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('period')
    )
    op.create_table('invoice_sequence',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('year')
    )
    with op.batch_alter_table('usage_record') as batch:
        batch.add_column(sa.Column('stop_at', sa.Float(), nullable=True))
        batch.add_column(sa.Column('invoice_id', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_usage_record_invoice', 'invoice', ['invoice_id'], ['id'])
    op.create_index('ix_usage_record_billing', 'usage_record',
                    ['person_id', 'invoice_id', 'stop_at'], unique=False)
    record = sa.table('usage_record', sa.column('id'), sa.column('report_id'),
                      sa.column('stop_date'), sa.column('stop_at'))
    report = sa.table('usage_report', sa.column('id'), sa.column('received_at'))
    connection = op.get_bind()
    rows = connection.execute(sa.select(record.c.id, record.c.stop_date, report.c.received_at)
                              .join(report, record.c.report_id == report.c.id)).all()
    if rows:
        connection.execute(
            record.update().where(record.c.id == sa.bindparam('record'))
            .values(stop_at=sa.bindparam('instant')),
            [{'record': row[0], 'instant': _instant(row[1], row[2])} for row in rows])


def downgrade():
    """Revert this revision."""
    op.drop_index('ix_usage_record_billing', table_name='usage_record')
    with op.batch_alter_table('usage_record') as batch:
        batch.drop_constraint('fk_usage_record_invoice', type_='foreignkey')
        batch.drop_column('invoice_id')
        batch.drop_column('stop_at')
    op.drop_table('invoice_sequence')
    op.drop_table('invoice_run')
    op.drop_index(op.f('ix_invoice_line_invoice_id'), table_name='invoice_line')
    op.drop_table('invoice_line')
    op.drop_index(op.f('ix_invoice_person_id'), table_name='invoice')
    op.drop_table('invoice')
