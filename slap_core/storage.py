"""Database access: the engine, one transaction per operation, retries, and schema migrations.

SQLite (a file, WAL journal) is the embedded default; PostgreSQL through psycopg 3 is selected by a
``postgresql+psycopg://`` URL. Everything here is blocking and is meant to run in a thread pool.
"""

import logging
import random
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from slap_core import revisions

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
RETRIES = 8


class TransientConflict(Exception):
    """Raised when a transaction still lost a race after every retry."""


def database_url(value):
    """Turn a configured database into an SQLAlchemy URL: a plain path means an SQLite file."""
    if "://" in value:
        return value
    return "sqlite:///" + str(Path(value).expanduser().absolute())


def _configure_sqlite(engine):
    # pysqlite's own transaction handling would start transactions lazily and never as IMMEDIATE;
    # take it over so that write transactions lock the file at BEGIN and wait (busy_timeout)
    # instead of failing at their first write with "database is locked".
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        if connection.get_execution_options().get("slapgate_write"):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


class SlapSession(Session):
    """The sessions of slap_core: each flush moves the revisions of the computers it touched."""


revisions.track(SlapSession)


class Storage:
    """The database of one master: an engine plus transaction helpers.

    ``transaction(write=True)`` yields a Session inside one database transaction; ``run`` calls a
    function in such a transaction and retries it when it lost a race (a unique key taken by a
    concurrent transaction, a PostgreSQL serialization failure or deadlock, a locked SQLite file).
    """

    def __init__(self, url, pool_size=10):
        self.url = database_url(url)
        kwargs = {"future": True}
        if self.url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            kwargs["pool_size"] = pool_size
        else:
            kwargs["pool_size"] = pool_size
            kwargs["max_overflow"] = pool_size
            kwargs["pool_pre_ping"] = True
        self.engine = create_engine(self.url, **kwargs)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        self._write_engine = self.engine.execution_options(slapgate_write=True)
        # Services operations find in ``session.info`` (the certificate authority).
        self.session_info = {}
        # SQLite runs one write transaction at a time: this process's writers queue on a lock
        # instead of polling the file lock in SQLite's busy handler, whose growing sleeps gave
        # waiting requests seconds of latency under load (make bench: requests at 10 concurrent).
        self._sqlite_writer = threading.RLock() if self.is_sqlite else None

    @contextmanager
    def transaction(self, write=True):
        """Yield a Session in one transaction; commit on success, roll back on an exception.

        An exception with a true ``keep_changes`` attribute commits first, then propagates.
        """
        if write and self._sqlite_writer is not None:
            with self._sqlite_writer:
                with self._transaction(write) as session:
                    yield session
        else:
            with self._transaction(write) as session:
                yield session

    @contextmanager
    def _transaction(self, write):
        session = SlapSession(self._write_engine if write else self.engine,
                              expire_on_commit=False, info=dict(self.session_info))
        try:
            session.begin()
            try:
                yield session
            except BaseException as error:
                if getattr(error, "keep_changes", False):
                    session.commit()
                else:
                    session.rollback()
                raise
            session.commit()
        finally:
            session.close()

    def run(self, function, *args, write=True, **kwargs):
        """Call ``function(session, *args, **kwargs)`` in a transaction, retrying lost races."""
        for attempt in range(RETRIES):
            try:
                with self.transaction(write=write) as session:
                    return function(session, *args, **kwargs)
            except (IntegrityError, OperationalError, DBAPIError) as error:
                if not _is_transient(error) or attempt == RETRIES - 1:
                    if isinstance(error, IntegrityError):
                        raise TransientConflict(str(error.orig)) from error
                    raise
                log.debug("retrying after a lost race (%s)", error.orig)
                time.sleep(random.uniform(0, 0.005 * (attempt + 1)))
        raise AssertionError("unreachable")

    def ping(self):
        """Run a trivial query; raises if the database cannot be reached."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self):
        """Close every pooled connection."""
        self.engine.dispose()

    # -- schema -------------------------------------------------------------------------------

    def alembic_config(self):
        """An Alembic Config pointing at slap_core's migrations and this database."""
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["engine"] = self.engine
        return config

    def upgrade(self, revision="head"):
        """Apply migrations up to ``revision`` (default: the newest)."""
        from alembic import command

        command.upgrade(self.alembic_config(), revision)

    def downgrade(self, revision):
        """Revert migrations down to ``revision`` (``base`` = empty database)."""
        from alembic import command

        command.downgrade(self.alembic_config(), revision)

    def current_revision(self):
        """The revision the database is at, or None for an empty database."""
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()


def _is_transient(error):
    if isinstance(error, IntegrityError):
        return True
    message = str(getattr(error, "orig", error)).lower()
    sqlstate = getattr(getattr(error, "orig", None), "sqlstate", None)
    return (
        "database is locked" in message
        or "deadlock" in message
        or "could not serialize" in message
        or sqlstate in ("40001", "40P01")
    )
