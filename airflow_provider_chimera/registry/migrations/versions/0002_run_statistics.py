"""Run statistics: attempt, rows read, bytes written, CPU seconds, peak RSS and the error of each run.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempt', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('rows_read', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('bytes_written', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('cpu_seconds', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('peak_rss_kib', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('error', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_column('error')
        batch_op.drop_column('peak_rss_kib')
        batch_op.drop_column('cpu_seconds')
        batch_op.drop_column('bytes_written')
        batch_op.drop_column('rows_read')
        batch_op.drop_column('attempt')
