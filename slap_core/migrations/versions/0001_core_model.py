"""core model

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-25
"""

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    """Apply this revision."""
    op.create_table('person',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('login', sa.String(length=255), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('full_name', sa.String(length=255), nullable=False),
    sa.Column('email', sa.String(length=255), nullable=False),
    sa.Column('roles', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('login')
    )
    op.create_table('software_product',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=255), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('reference')
    )
    op.create_table('computer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=255), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('allocation_scope', sa.String(length=32), nullable=False),
    sa.Column('network_guid', sa.String(length=255), nullable=True),
    sa.Column('project_guid', sa.String(length=255), nullable=True),
    sa.Column('attributes', sa.JSON(), nullable=False),
    sa.Column('address', sa.String(length=255), nullable=True),
    sa.Column('netmask', sa.String(length=255), nullable=True),
    sa.Column('configuration', sa.JSON(), nullable=False),
    sa.Column('status_text', sa.Text(), nullable=True),
    sa.Column('status_at', sa.Float(), nullable=True),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('reference')
    )
    op.create_table('instance_tree',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('root_instance_id', sa.Integer(), nullable=True),
    sa.Column('archived', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('instance_tree', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instance_tree_owner_id'), ['owner_id'], unique=False)

    op.create_table('software_release',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('url', sa.String(length=1024), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['software_product.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('url')
    )
    with op.batch_alter_table('software_release', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_software_release_product_id'), ['product_id'], unique=False)

    op.create_table('partition',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('computer_id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=255), nullable=False),
    sa.Column('slap_state', sa.String(length=16), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('capabilities', sa.Text(), nullable=False),
    sa.Column('resource', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['computer_id'], ['computer.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('computer_id', 'reference', name='uq_partition_computer_reference'),
    sa.UniqueConstraint('instance_id')
    )
    with op.batch_alter_table('partition', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partition_computer_id'), ['computer_id'], unique=False)
        batch_op.create_index('ix_partition_free', ['slap_state', 'computer_id'], unique=False)

    op.create_table('software_instance',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=True),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('request_scope', sa.String(length=64), nullable=True),
    sa.Column('tree_id', sa.Integer(), nullable=False),
    sa.Column('requester_instance_id', sa.Integer(), nullable=True),
    sa.Column('release_id', sa.Integer(), nullable=False),
    sa.Column('software_type', sa.String(length=255), nullable=False),
    sa.Column('parameters', sa.JSON(), nullable=False),
    sa.Column('sla', sa.JSON(), nullable=False),
    sa.Column('requested_state', sa.String(length=16), nullable=False),
    sa.Column('shared', sa.Boolean(), nullable=False),
    sa.Column('host_instance_id', sa.Integer(), nullable=True),
    sa.Column('connection', sa.JSON(), nullable=False),
    sa.Column('timestamp', sa.BigInteger(), nullable=False),
    sa.Column('status_text', sa.Text(), nullable=True),
    sa.Column('status_at', sa.Float(), nullable=True),
    sa.Column('archived', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['host_instance_id'], ['software_instance.id'], ),
    sa.ForeignKeyConstraint(['release_id'], ['software_release.id'], ),
    sa.ForeignKeyConstraint(['requester_instance_id'], ['software_instance.id'], ),
    sa.ForeignKeyConstraint(['tree_id'], ['instance_tree.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('reference'),
    sa.UniqueConstraint('request_scope', 'title', name='uq_instance_request')
    )
    with op.batch_alter_table('software_instance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_software_instance_host_instance_id'), ['host_instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_software_instance_requester_instance_id'), ['requester_instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_software_instance_tree_id'), ['tree_id'], unique=False)

    op.create_table('supply',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('computer_id', sa.Integer(), nullable=False),
    sa.Column('release_id', sa.Integer(), nullable=False),
    sa.Column('desired_state', sa.String(length=16), nullable=False),
    sa.Column('reported_state', sa.String(length=16), nullable=True),
    sa.Column('error_text', sa.Text(), nullable=True),
    sa.Column('reported_at', sa.Float(), nullable=True),
    sa.Column('updated_at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['computer_id'], ['computer.id'], ),
    sa.ForeignKeyConstraint(['release_id'], ['software_release.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('computer_id', 'release_id', name='uq_supply')
    )
    with op.batch_alter_table('supply', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supply_computer_id'), ['computer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_supply_release_id'), ['release_id'], unique=False)

    op.create_table('usage_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('computer_id', sa.Integer(), nullable=False),
    sa.Column('received_at', sa.Float(), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['computer_id'], ['computer.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('usage_report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_usage_report_computer_id'), ['computer_id'], unique=False)

    op.create_table('partition_address',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partition_id', sa.Integer(), nullable=False),
    sa.Column('network_interface', sa.String(length=255), nullable=False),
    sa.Column('address', sa.String(length=255), nullable=False),
    sa.Column('netmask', sa.String(length=255), nullable=False),
    sa.Column('gateway', sa.String(length=255), nullable=False),
    sa.Column('network', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['partition_id'], ['partition.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('partition_address', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partition_address_partition_id'), ['partition_id'], unique=False)

    op.create_table('usage_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('computer_id', sa.Integer(), nullable=False),
    sa.Column('partition_reference', sa.String(length=255), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('resource', sa.String(length=255), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('quantity', sa.Float(), nullable=False),
    sa.Column('price', sa.Float(), nullable=False),
    sa.Column('category', sa.String(length=255), nullable=False),
    sa.Column('start_date', sa.String(length=64), nullable=False),
    sa.Column('stop_date', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['computer_id'], ['computer.id'], ),
    sa.ForeignKeyConstraint(['instance_id'], ['software_instance.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['report_id'], ['usage_report.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('usage_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_usage_record_computer_id'), ['computer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_usage_record_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_usage_record_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_usage_record_report_id'), ['report_id'], unique=False)


    # instance_tree and partition point at software_instance, which points back at both: these two
    # foreign keys can only be added once all three tables exist.
    with op.batch_alter_table('instance_tree', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_tree_root_instance', 'software_instance', ['root_instance_id'], ['id'])
    with op.batch_alter_table('partition', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_partition_instance', 'software_instance', ['instance_id'], ['id'])


def downgrade():
    """Revert this revision."""
    with op.batch_alter_table('partition', schema=None) as batch_op:
        batch_op.drop_constraint('fk_partition_instance', type_='foreignkey')
    with op.batch_alter_table('instance_tree', schema=None) as batch_op:
        batch_op.drop_constraint('fk_tree_root_instance', type_='foreignkey')
    with op.batch_alter_table('usage_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_usage_record_report_id'))
        batch_op.drop_index(batch_op.f('ix_usage_record_person_id'))
        batch_op.drop_index(batch_op.f('ix_usage_record_instance_id'))
        batch_op.drop_index(batch_op.f('ix_usage_record_computer_id'))

    op.drop_table('usage_record')
    with op.batch_alter_table('partition_address', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partition_address_partition_id'))

    op.drop_table('partition_address')
    with op.batch_alter_table('usage_report', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_usage_report_computer_id'))

    op.drop_table('usage_report')
    with op.batch_alter_table('supply', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supply_release_id'))
        batch_op.drop_index(batch_op.f('ix_supply_computer_id'))

    op.drop_table('supply')
    with op.batch_alter_table('software_instance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_software_instance_tree_id'))
        batch_op.drop_index(batch_op.f('ix_software_instance_requester_instance_id'))
        batch_op.drop_index(batch_op.f('ix_software_instance_host_instance_id'))

    op.drop_table('software_instance')
    with op.batch_alter_table('partition', schema=None) as batch_op:
        batch_op.drop_index('ix_partition_free')
        batch_op.drop_index(batch_op.f('ix_partition_computer_id'))

    op.drop_table('partition')
    with op.batch_alter_table('software_release', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_software_release_product_id'))

    op.drop_table('software_release')
    with op.batch_alter_table('instance_tree', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_instance_tree_owner_id'))

    op.drop_table('instance_tree')
    op.drop_table('computer')
    op.drop_table('software_product')
    op.drop_table('person')
