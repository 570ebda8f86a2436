"""State every host must agree on, in the registry: onboarded versions, onboarding state, and the
metadata queue for DataHub Lite (decisions 0042, 0043).

The files earlier versions kept under ``[chimera] state_dir`` (``onboarded/<intent>.json``, the
exact bytes of each onboarded version, and ``onboarding/<intent>.json``, each onboarding state) are
imported into the new tables, so that upgrading neither forgets an onboarding nor holds back a
pipeline; the files are left where they are (nothing reads them any more).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from pathlib import Path

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
    sa.PrimaryKeyConstraint('id', name=op.f('pk_metadata_queue'))
    )
    _import_state_files()


def _import_state_files() -> None:
    from airflow_provider_chimera.settings import load_settings

    state_dir = Path(load_settings().state_dir)
    sqlite = op.get_bind().dialect.name == "sqlite"

    def stamp(path: Path) -> dt.datetime:
        at = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
        return at.replace(tzinfo=None) if sqlite else at  # as the registry's UTCDateTime stores it

    onboarded = sa.table("onboarded_versions", sa.column("intent", sa.String), sa.column("content_hash", sa.String),
                         sa.column("content", sa.LargeBinary), sa.column("onboarded_at", sa.DateTime(timezone=True)))
    states = sa.table("onboarding_state", sa.column("intent", sa.String), sa.column("state", sa.JSON),
                      sa.column("updated_at", sa.DateTime(timezone=True)))
    rows = [{"intent": path.stem, "content_hash": hashlib.sha256(path.read_bytes()).hexdigest(), "content": path.read_bytes(),
             "onboarded_at": stamp(path)} for path in sorted((state_dir / "onboarded").glob("*.json"))]
    if rows:
        op.bulk_insert(onboarded, rows)
    found = []
    for path in sorted((state_dir / "onboarding").glob("*.json")):
        try:
            found.append({"intent": path.stem, "state": json.loads(path.read_text()), "updated_at": stamp(path)})
        except ValueError:  # a damaged state file: that intent onboards again
            logging.getLogger(__name__).warning("onboarding state %s is not JSON: not imported", path)
    if found:
        op.bulk_insert(states, found)


def downgrade() -> None:
    op.drop_table('metadata_queue')
    op.drop_table('onboarding_state')
    op.drop_table('onboarded_versions')
