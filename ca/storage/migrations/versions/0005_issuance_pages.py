"""Issuance writes fewer pages: what each certificate's commit no longer pays for.

Serials are random, so every index keyed by one puts each issuance's row on a random B-tree page,
and the commit writes that whole page to the WAL (and a checkpoint writes it again).

- ``ix_certificate_ranges_serial``: nothing reads a certificate's ranges by serial (a traceback
  finds ranges by number and joins to certificates by their primary key) and certificates are
  never deleted, so no foreign-key check needs it either.
- ``certificate_bases``: one row per certificate, keyed by its serial: a second random page and a
  second appended page per issuance. The basis and the operator's reason become two columns of
  ``certificates``; a certificate issued without one (an SP or CA certificate) leaves them NULL,
  as the outer join left them before.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_certificate_ranges_serial", table_name="certificate_ranges")
    op.add_column("certificates", sa.Column("basis", sa.String(20)))
    op.add_column("certificates", sa.Column("basis_reason", sa.Text))
    op.execute(
        "UPDATE certificates SET "
        "basis = (SELECT b.basis FROM certificate_bases b WHERE b.serial = certificates.serial), "
        "basis_reason = (SELECT b.reason FROM certificate_bases b "
        "WHERE b.serial = certificates.serial)"
    )
    op.drop_table("certificate_bases")


def downgrade() -> None:
    op.create_table(
        "certificate_bases",
        sa.Column("serial", sa.String(42), sa.ForeignKey("certificates.serial"), primary_key=True),
        sa.Column("basis", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text),
    )
    op.execute(
        "INSERT INTO certificate_bases (serial, basis, reason) "
        "SELECT serial, basis, basis_reason FROM certificates WHERE basis IS NOT NULL"
    )
    # ALTER TABLE ... DROP COLUMN in place (SQLite >= 3.35): a batch rebuild of certificates
    # could not drop the old table while certificate_bases refers to it.
    op.drop_column("certificates", "basis_reason")
    op.drop_column("certificates", "basis")
    op.create_index("ix_certificate_ranges_serial", "certificate_ranges", ["serial"])
