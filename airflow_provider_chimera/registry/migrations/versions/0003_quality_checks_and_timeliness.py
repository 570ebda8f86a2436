"""Quality check results per run (write-audit-publish) and pipeline timeliness (state and its changes).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('check_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pipeline_id', sa.String(length=250), nullable=False),
    sa.Column('run_id', sa.String(length=250), nullable=False),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('check_name', sa.String(length=250), nullable=False),
    sa.Column('check_type', sa.String(length=100), nullable=False),
    sa.Column('column', sa.String(length=250), nullable=True),
    sa.Column('automatic', sa.Boolean(), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('diagnostics', sa.JSON(), nullable=False),
    sa.Column('snapshot_id', sa.BigInteger(), nullable=True),
    sa.Column('published', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['pipeline_id'], ['pipelines.pipeline_id'], name=op.f('fk_check_results_pipeline_id_pipelines')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_check_results'))
    )
    with op.batch_alter_table('check_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_check_results_checked_at'), ['checked_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_check_results_pipeline_id'), ['pipeline_id'], unique=False)

    op.create_table('sla_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pipeline_id', sa.String(length=250), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('from_state', sa.String(length=20), nullable=True),
    sa.Column('to_state', sa.String(length=20), nullable=False),
    sa.Column('last_published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('notified', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['pipeline_id'], ['pipelines.pipeline_id'], name=op.f('fk_sla_events_pipeline_id_pipelines')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_events'))
    )
    with op.batch_alter_table('sla_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sla_events_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sla_events_pipeline_id'), ['pipeline_id'], unique=False)

    op.create_table('sla_status',
    sa.Column('pipeline_id', sa.String(length=250), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['pipeline_id'], ['pipelines.pipeline_id'], name=op.f('fk_sla_status_pipeline_id_pipelines')),
    sa.PrimaryKeyConstraint('pipeline_id', name=op.f('pk_sla_status'))
    )


def downgrade() -> None:
    op.drop_table('sla_status')
    with op.batch_alter_table('sla_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sla_events_pipeline_id'))
        batch_op.drop_index(batch_op.f('ix_sla_events_at'))

    op.drop_table('sla_events')
    with op.batch_alter_table('check_results', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_check_results_pipeline_id'))
        batch_op.drop_index(batch_op.f('ix_check_results_checked_at'))

    op.drop_table('check_results')
