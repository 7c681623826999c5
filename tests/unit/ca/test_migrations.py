"""The Alembic revisions build exactly the schema the models describe, and carry data forward."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext

from ca.storage.engine import MIGRATIONS, Storage
from ca.storage.models import Base

AT = dt.datetime(2026, 11, 23, 12, 0, 0)


def _alembic(storage: Storage, connection: sa.Connection) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def test_the_migrated_schema_is_the_models_schema(database_url):
    storage = Storage(database_url)
    try:
        storage.migrate()
        with storage.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        storage.dispose()
    assert differences == []


#: (serial, basis, operator's reason) of three certificates; the last was issued without a basis.
BASES = [("a1", "registry", None), ("b2", "operator", "court order 12/7"), ("c3", None, None)]


def _rows(connection: sa.Connection, columns_from: str) -> list[tuple[object, ...]]:
    query = f"SELECT serial, {columns_from} ORDER BY serial"
    return [tuple(row) for row in connection.execute(sa.text(query))]


def test_0005_moves_each_certificates_basis_onto_it_and_back(database_url):
    storage = Storage(database_url)
    try:
        with storage.engine.begin() as connection:
            command.upgrade(_alembic(storage, connection), "0004")
            connection.execute(
                sa.text(
                    "INSERT INTO issuers (id, role, certificate_der, chain_pem, key_uri, crl_model, "
                    "active, not_before, not_after, created_at) VALUES ('sca', 'sca', :der, '', "
                    "'file:x', 'direct', :active, :at, :at, :at)"
                ),
                {"der": b"\x00", "active": True, "at": AT},
            )
            for serial, basis, reason in BASES:
                connection.execute(
                    sa.text(
                        "INSERT INTO serials (serial, issuer_id, reserved_at) VALUES (:s, 'sca', :at)"
                    ),
                    {"s": serial, "at": AT},
                )
                connection.execute(
                    sa.text(
                        "INSERT INTO certificates (serial, issuer_id, profile, der, not_before, "
                        "not_after, issued_at) VALUES (:s, 'sca', 'delegate', :der, :at, :at, :at)"
                    ),
                    {"s": serial, "der": b"\x00", "at": AT},
                )
                if basis is not None:
                    connection.execute(
                        sa.text(
                            "INSERT INTO certificate_bases (serial, basis, reason) "
                            "VALUES (:s, :b, :r)"
                        ),
                        {"s": serial, "b": basis, "r": reason},
                    )
            command.upgrade(_alembic(storage, connection), "0005")
            assert _rows(connection, "basis, basis_reason FROM certificates") == BASES
            assert "certificate_bases" not in sa.inspect(connection).get_table_names()
            command.downgrade(_alembic(storage, connection), "0004")
            assert _rows(connection, "basis, reason FROM certificate_bases") == BASES[:2]
    finally:
        storage.dispose()
