"""Engine, sessions and migrations. The caller owns each transaction (one per request, job or command)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ca.errors import CAError, ErrorKind
from ca.storage.group_commit import GroupCommit
from ca.storage.sqlite import GatedConnection, ThreadConnections, gate_for, prepare_connection

MIGRATIONS = Path(__file__).with_name("migrations")
T = TypeVar("T")


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(
        url,
        connect_args={"timeout": 30, "check_same_thread": False, "factory": GatedConnection},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Transaction control moves from the sqlite3 module to "begin" below.
        prepare_connection(dbapi_connection)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers take the lock up front, through the write gate (ca.storage.sqlite): a deferred
        # transaction that later upgrades to a write lock can fail with SQLITE_BUSY without
        # waiting, which would break concurrent issuance. Read-only units of work begin deferred
        # so WAL readers never wait for writers.
        if connection.get_execution_options().get("delegato_readonly", False):
            connection.connection.dbapi_connection.execute("BEGIN")
        else:
            connection.connection.dbapi_connection.begin_immediate()

    return engine


class DriverTransaction:
    """One transaction on a DBAPI connection: the issuance hot path, without SQLAlchemy.

    SQLAlchemy's ``Connection`` adds ~18 µs to a unit of work (checkout, events, begin, reset);
    the driver's own connection, checked out of the same pool, ~7 µs; on SQLite the thread's
    own connection, without the pool, less again. Only the repository's
    driver statements (``ca.storage.repo``, ``ca.storage.audit``) run on it; everything else uses
    a session.
    """

    __slots__ = ("before_commit", "cursor", "dialect", "pending")

    def __init__(self, dialect: str, cursor: Any) -> None:
        self.dialect = dialect
        self.cursor = cursor
        #: Run in order just before the commit, in the transaction (the audit trail appends the
        #: events of the whole transaction there, with one move of its head).
        self.before_commit: list[Callable[[DriverTransaction], None]] = []
        #: What those hooks will write, by owner (``"audit"``: the events recorded so far).
        self.pending: dict[str, list[Any]] = {}


class Storage:
    """A database: SQLite (embedded default) or PostgreSQL (production), behind one interface."""

    def __init__(self, url: str) -> None:
        self.url = url
        #: SQLite: the hot path's connections, one per thread (see ThreadConnections).
        self._own: ThreadConnections | None = None
        #: SQLite: the database file, whose WAL this process checkpoints in the background.
        self._database_file: str | None = None
        if url.startswith("sqlite"):
            self.engine = _sqlite_engine(url)
            database = self.engine.url.database
            if database and database != ":memory:":
                self._own = ThreadConnections(database)
                self._database_file = os.path.abspath(database)
        else:
            self.engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._readers = sessionmaker(
            self.engine.execution_options(delegato_readonly=True), expire_on_commit=False
        )
        self._group = GroupCommit(self.driver_transaction)

    def write_together(self, work: Callable[[DriverTransaction], T]) -> T:
        """Run ``work`` in a writing transaction on the driver and return its result once
        committed; concurrent callers in this process share the transaction and its commit
        (``ca.storage.group_commit``). ``work`` only writes through the unit it is given, and
        may run twice: alone again after a shared transaction it was part of rolled back."""
        return self._group.run(work)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: committed when the block ends, rolled back if it raises."""
        with self._sessions.begin() as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A unit of work that only reads (on SQLite it never takes the write lock)."""
        with self._readers.begin() as session:
            yield session

    @contextmanager
    def read_connection(self) -> Iterator[Connection]:
        """The lightest read: a Core connection that never takes SQLite's write lock."""
        with self.engine.connect().execution_options(delegato_readonly=True) as connection:
            yield connection

    @contextmanager
    def driver_read(self) -> Iterator[DriverTransaction]:
        """The lightest read, for one statement on the driver, no transaction of its own: on
        SQLite the thread's own connection in autocommit; on PostgreSQL a pooled connection whose
        implicit transaction is rolled back on return."""
        if self._own is not None:
            own_cursor = self._own.get().cursor()
            try:
                yield DriverTransaction("sqlite", own_cursor)
            finally:
                own_cursor.close()
            return
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            try:
                yield DriverTransaction(self.engine.dialect.name, cursor)
            finally:
                cursor.close()
        finally:
            raw.close()  # back to the pool, reset (rolled back)

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A lighter unit of work for hot paths: a Core connection in a transaction, no ORM session.

        Repository functions accept it wherever they accept a session.
        """
        with self.engine.begin() as connection:
            yield connection

    @contextmanager
    def driver_transaction(self) -> Iterator[DriverTransaction]:
        """A unit of work on the driver: committed when the block ends, rolled back if it raises.

        On SQLite it runs on the thread's own connection and begins IMMEDIATE, as every writing
        unit of work does (see ``_on_begin``); on PostgreSQL on a pooled connection, where
        psycopg begins a transaction by itself with the first statement.
        """
        if self._own is not None:
            connection = self._own.get()
            own_cursor = connection.cursor()
            try:
                connection.begin_immediate()
                unit = DriverTransaction("sqlite", own_cursor)
                yield unit
                for hook in unit.before_commit:
                    hook(unit)
                connection.commit()
            except BaseException:
                own_cursor.close()
                self._own.recover(connection)
                raise
            own_cursor.close()
            return
        dialect = self.engine.dialect.name
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            try:
                if dialect == "sqlite":  # in memory: no file, no thread connections
                    gated: Any = raw.driver_connection  # a GatedConnection
                    gated.begin_immediate()
                unit = DriverTransaction(dialect, cursor)
                yield unit
                for hook in unit.before_commit:
                    hook(unit)
            except BaseException:
                raw.rollback()
                raise
            else:
                raw.commit()
            finally:
                cursor.close()
        finally:
            raw.close()  # back to the pool

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision."""
        config = AlembicConfig()
        config.set_main_option("script_location", str(MIGRATIONS))
        try:
            with self.engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except OperationalError as exc:
            raise CAError(
                ErrorKind.CONFIGURATION,
                f"cannot migrate the database: {exc.orig}",
                field="database_url",
            ) from None

    def ping(self) -> None:
        """Readiness: one round trip to the database (raises CONFIGURATION when it fails)."""
        try:
            with self.engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
        except OperationalError as exc:
            raise CAError(
                ErrorKind.CONFIGURATION, f"the database does not answer: {type(exc.orig).__name__}"
            ) from None

    def dispose(self) -> None:
        if self._database_file is not None:
            gate_for(self._database_file).checkpointer.stop()
        if self._own is not None:
            self._own.close_all()
        self.engine.dispose()
