"""Subscriptions: auto-renewed delegate certificates (after RFC 8739 STAR).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from ca.storage.models import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column(
            "organization_id", sa.String(40), sa.ForeignKey("organizations.id"), nullable=False
        ),
        sa.Column("public_key_der", sa.LargeBinary, nullable=False),
        sa.Column("scope_der", sa.LargeBinary),
        sa.Column("lifetime_s", sa.Integer, nullable=False),
        sa.Column("renew_fraction", sa.Float, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("current_serial", sa.String(40)),
        sa.Column("renew_after", UTCDateTime),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("ended_at", UTCDateTime),
        sa.Column("end_reason", sa.String(40)),
    )
    op.create_index("ix_subscriptions_organization_id", "subscriptions", ["organization_id"])
    op.create_index("ix_subscriptions_renew_after", "subscriptions", ["renew_after"])


def downgrade() -> None:
    op.drop_table("subscriptions")
