"""The UI's board: quarantined records per run, and check results looked up by pipeline and run.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('quarantined_rows', sa.BigInteger(), nullable=True))
    with op.batch_alter_table('check_results', schema=None) as batch_op:
        batch_op.create_index('ix_check_results_pipeline_id_run_id', ['pipeline_id', 'run_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('check_results', schema=None) as batch_op:
        batch_op.drop_index('ix_check_results_pipeline_id_run_id')
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_column('quarantined_rows')
