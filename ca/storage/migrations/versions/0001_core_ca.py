"""Core CA: organizations, issuers, counters, serials, intents, certificates, revocations, CRLs, audit.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from ca.storage.models import RowId, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "organizations",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("spid", sa.String(40)),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "issuers",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("parent_id", sa.String(40), sa.ForeignKey("issuers.id")),
        sa.Column("certificate_der", sa.LargeBinary, nullable=False),
        sa.Column("chain_pem", sa.Text, nullable=False),
        sa.Column("key_uri", sa.String(500), nullable=False),
        sa.Column("crl_model", sa.String(10), nullable=False),
        sa.Column("crl_signer_id", sa.String(40), sa.ForeignKey("issuers.id")),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("not_before", UTCDateTime, nullable=False),
        sa.Column("not_after", UTCDateTime, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "counters",
        sa.Column("name", sa.String(80), primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "serials",
        sa.Column("serial", sa.String(42), primary_key=True),
        sa.Column("issuer_id", sa.String(40), sa.ForeignKey("issuers.id"), nullable=False),
        sa.Column("reserved_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "intents",
        sa.Column("serial", sa.String(42), sa.ForeignKey("serials.serial"), primary_key=True),
        sa.Column("issuer_id", sa.String(40), sa.ForeignKey("issuers.id"), nullable=False),
        sa.Column("organization_id", sa.String(40), sa.ForeignKey("organizations.id")),
        sa.Column("profile", sa.String(40), nullable=False),
        sa.Column("lint_der", sa.LargeBinary, nullable=False),
        sa.Column("tbs_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "certificates",
        sa.Column("serial", sa.String(42), sa.ForeignKey("serials.serial"), primary_key=True),
        sa.Column("issuer_id", sa.String(40), sa.ForeignKey("issuers.id"), nullable=False),
        sa.Column("organization_id", sa.String(40), sa.ForeignKey("organizations.id")),
        sa.Column("profile", sa.String(40), nullable=False),
        sa.Column("der", sa.LargeBinary, nullable=False),
        sa.Column("tn_auth_list_der", sa.LargeBinary),
        sa.Column("not_before", UTCDateTime, nullable=False),
        sa.Column("not_after", UTCDateTime, nullable=False),
        sa.Column("issued_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_certificates_organization_id", "certificates", ["organization_id"])
    op.create_index("ix_certificates_not_after", "certificates", ["not_after"])
    op.create_table(
        "certificate_ranges",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("serial", sa.String(42), sa.ForeignKey("certificates.serial"), nullable=False),
        sa.Column("length", sa.Integer, nullable=False),
        sa.Column("lo", sa.BigInteger, nullable=False),
        sa.Column("hi", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_certificate_ranges_serial", "certificate_ranges", ["serial"])
    op.create_index("ix_certificate_ranges_lookup", "certificate_ranges", ["length", "lo", "hi"])
    op.create_table(
        "revocations",
        sa.Column("serial", sa.String(42), sa.ForeignKey("certificates.serial"), primary_key=True),
        sa.Column("issuer_id", sa.String(40), sa.ForeignKey("issuers.id"), nullable=False),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("revoked_at", UTCDateTime, nullable=False),
        sa.Column("revoked_by", sa.String(200), nullable=False),
        sa.Column("comment", sa.Text),
    )
    op.create_index("ix_revocations_issuer_id", "revocations", ["issuer_id"])
    op.create_table(
        "crls",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("issuer_id", sa.String(40), sa.ForeignKey("issuers.id"), nullable=False),
        sa.Column("number", sa.BigInteger, nullable=False),
        sa.Column("this_update", UTCDateTime, nullable=False),
        sa.Column("next_update", UTCDateTime, nullable=False),
        sa.Column("der", sa.LargeBinary, nullable=False),
        sa.UniqueConstraint("issuer_id", "number", name="uq_crls_issuer_number"),
    )
    op.create_index("ix_crls_issuer_id", "crls", ["issuer_id"])
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(
        sa.table("audit_head", sa.column("id"), sa.column("seq"), sa.column("hash")),
        [{"id": 1, "seq": 0, "hash": "0" * 64}],
    )
    op.create_table(
        "audit_events",
        sa.Column("seq", RowId, primary_key=True, autoincrement=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("object_type", sa.String(40), nullable=False),
        sa.Column("object_id", sa.String(80), nullable=False),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_events_object_id", "audit_events", ["object_id"])


def downgrade() -> None:
    for table in (
        "audit_events",
        "audit_head",
        "crls",
        "revocations",
        "certificate_ranges",
        "certificates",
        "intents",
        "serials",
        "counters",
        "issuers",
        "organizations",
    ):
        op.drop_table(table)
