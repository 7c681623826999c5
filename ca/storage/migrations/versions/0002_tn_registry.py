"""TN registry: API keys, assignments, delegations and their number spans, certificate bases,
and the jobs lease.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from ca.storage.models import RowId, UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _grant_columns() -> list[sa.Column]:
    """Columns shared by assignments and delegations: the period, the evidence, the end."""
    return [
        sa.Column("scope_key", sa.String(64), nullable=False),
        sa.Column("valid_from", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("evidence", sa.String(500), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("ended_at", UTCDateTime),
        sa.Column("end_reason", sa.String(40)),
    ]


def _span_columns() -> list[sa.Column]:
    return [
        sa.Column("length", sa.Integer, nullable=False),
        sa.Column("lo", sa.BigInteger, nullable=False),
        sa.Column("hi", sa.BigInteger, nullable=False),
        sa.Column("active_from", UTCDateTime, nullable=False),
        sa.Column("active_until", UTCDateTime, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column(
            "organization_id", sa.String(40), sa.ForeignKey("organizations.id"), nullable=False
        ),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("revoked_at", UTCDateTime),
    )
    op.create_index("ix_api_keys_organization_id", "api_keys", ["organization_id"])

    op.create_table(
        "assignments",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("authority_id", sa.String(40), sa.ForeignKey("organizations.id"), nullable=False),
        sa.Column(
            "enterprise_id", sa.String(40), sa.ForeignKey("organizations.id"), nullable=False
        ),
        *_grant_columns(),
        sa.Column("transferred_from", sa.String(40)),
    )
    op.create_index("ix_assignments_scope_key", "assignments", ["scope_key"])
    op.create_index("ix_assignments_expires_at", "assignments", ["expires_at"])
    op.create_table(
        "assignment_spans",
        sa.Column("id", RowId, primary_key=True, autoincrement=True),
        sa.Column(
            "assignment_id", sa.String(40), sa.ForeignKey("assignments.id"), nullable=False
        ),
        sa.Column("enterprise_id", sa.String(40), nullable=False),
        sa.Column("shared", sa.Boolean, nullable=False),
        *_span_columns(),
    )
    op.create_index("ix_assignment_spans_assignment_id", "assignment_spans", ["assignment_id"])
    op.create_index("ix_assignment_spans_number", "assignment_spans", ["length", "lo"])
    op.create_index(
        "ix_assignment_spans_holder", "assignment_spans", ["enterprise_id", "length", "lo"]
    )

    op.create_table(
        "delegations",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column(
            "enterprise_id", sa.String(40), sa.ForeignKey("organizations.id"), nullable=False
        ),
        sa.Column("bpo_id", sa.String(40), sa.ForeignKey("organizations.id"), nullable=False),
        *_grant_columns(),
    )
    op.create_index("ix_delegations_enterprise_id", "delegations", ["enterprise_id"])
    op.create_index("ix_delegations_bpo_id", "delegations", ["bpo_id"])
    op.create_index("ix_delegations_scope_key", "delegations", ["scope_key"])
    op.create_index("ix_delegations_expires_at", "delegations", ["expires_at"])
    op.create_table(
        "delegation_spans",
        sa.Column("id", RowId, primary_key=True, autoincrement=True),
        sa.Column(
            "delegation_id", sa.String(40), sa.ForeignKey("delegations.id"), nullable=False
        ),
        sa.Column("enterprise_id", sa.String(40), nullable=False),
        sa.Column("bpo_id", sa.String(40), nullable=False),
        *_span_columns(),
    )
    op.create_index("ix_delegation_spans_delegation_id", "delegation_spans", ["delegation_id"])
    op.create_index("ix_delegation_spans_holder", "delegation_spans", ["bpo_id", "length", "lo"])
    op.create_index(
        "ix_delegation_spans_enterprise", "delegation_spans", ["enterprise_id", "length", "lo"]
    )
    op.create_index("ix_delegation_spans_number", "delegation_spans", ["length", "lo"])

    op.create_table(
        "certificate_bases",
        sa.Column(
            "serial", sa.String(42), sa.ForeignKey("certificates.serial"), primary_key=True
        ),
        sa.Column("basis", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text),
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "leases",
        "certificate_bases",
        "delegation_spans",
        "delegations",
        "assignment_spans",
        "assignments",
        "api_keys",
    ):
        op.drop_table(table)
