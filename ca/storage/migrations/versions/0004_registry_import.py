"""TN registry bulk import: what each imported row no longer pays for.

- The foreign keys of assignments (to their authority and enterprise) and of assignment spans
  (to their assignment): on PostgreSQL each is a query per inserted row, half of the server's
  time in a bulk import. The registry checks both parties of every post under its lock before it
  writes, and writes a grant's spans in the same transaction as the grant; nothing deletes
  organizations or assignments.
- The scope-key indexes of assignments and delegations: a re-post finds its grant through the
  span where its numbers start, a probe of the (length, lo) index that every post makes anyway.
  A random key was the costliest index of the import.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

#: (table, column, referred table). SQLite keeps foreign keys unnamed: batch mode names them
#: after this convention when it rebuilds the table.
_FOREIGN_KEYS = (
    ("assignment_spans", "assignment_id", "assignments"),
    ("assignments", "authority_id", "organizations"),
    ("assignments", "enterprise_id", "organizations"),
)
_CONVENTION = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}


def _name(table: str, column: str, referred: str) -> str:
    if op.get_bind().dialect.name == "sqlite":
        return f"fk_{table}_{column}_{referred}"
    return f"{table}_{column}_fkey"  # PostgreSQL's own names


def upgrade() -> None:
    op.drop_index("ix_assignments_scope_key", table_name="assignments")
    op.drop_index("ix_delegations_scope_key", table_name="delegations")
    # Spans first: on SQLite the assignments table is rebuilt, and no table may refer to it then.
    for table in ("assignment_spans", "assignments"):
        with op.batch_alter_table(table, naming_convention=_CONVENTION) as batch:
            for fk_table, column, referred in _FOREIGN_KEYS:
                if fk_table == table:
                    batch.drop_constraint(_name(table, column, referred), type_="foreignkey")


def downgrade() -> None:
    for table in ("assignments", "assignment_spans"):
        with op.batch_alter_table(table, naming_convention=_CONVENTION) as batch:
            for fk_table, column, referred in _FOREIGN_KEYS:
                if fk_table == table:
                    batch.create_foreign_key(
                        _name(table, column, referred), referred, [column], ["id"]
                    )
    op.create_index("ix_delegations_scope_key", "delegations", ["scope_key"])
    op.create_index("ix_assignments_scope_key", "assignments", ["scope_key"])
