"""State every host must agree on, in the registry: onboarded versions, onboarding state, and the
metadata queue for DataHub Lite (decision 0042).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('onboarded_versions',
    sa.Column('intent', sa.String(length=200), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('onboarded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('intent', name=op.f('pk_onboarded_versions'))
    )
    op.create_table('onboarding_state',
    sa.Column('intent', sa.String(length=200), nullable=False),
    sa.Column('state', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('intent', name=op.f('pk_onboarding_state'))
    )
    op.create_table('metadata_queue',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('queued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('pipeline_id', sa.String(length=250), nullable=True),
    sa.Column('entity_urn', sa.Text(), nullable=False),
    sa.Column('proposal', sa.JSON(), nullable=False),
    sa.Column('written_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_metadata_queue'))
    )
    with op.batch_alter_table('metadata_queue', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_metadata_queue_written_at'), ['written_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('metadata_queue', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_metadata_queue_written_at'))
    op.drop_table('metadata_queue')
    op.drop_table('onboarding_state')
    op.drop_table('onboarded_versions')
