"""Database access shared by the stages: connections, pools and the migration runner.

SQL belongs in each stage's ``queries.py``; this module only opens connections and
applies ``linli/migrations/NNNN_name.sql`` forward-only, recording each in
``schema_migrations``. A migration whose first lines say ``-- linli: requires timescaledb``
runs only where that extension is available and is recorded as skipped elsewhere;
``-- linli: no-transaction`` runs it statement by statement in autocommit mode.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import psycopg
from psycopg.rows import dict_row

from linli.errors import ServiceError

log = logging.getLogger(__name__)

_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_DIRECTIVE = re.compile(r"^--\s*linli:\s*(.+?)\s*$")


def connect(url: str, *, autocommit: bool = False, **kwargs: Any) -> psycopg.Connection[Any]:
    """Open a connection; a failure becomes a ServiceError without the URL's password."""
    try:
        return psycopg.connect(url, autocommit=autocommit, row_factory=dict_row, **kwargs)
    except psycopg.OperationalError as exc:
        raise ServiceError(f"cannot connect to the database: {_first_line(exc)}") from exc


@dataclass(frozen=True, slots=True)
class Migration:
    """One numbered SQL file."""

    version: int
    name: str
    sql: str

    @property
    def directives(self) -> set[str]:
        found = set()
        for line in self.sql.splitlines():
            match = _DIRECTIVE.match(line.strip())
            if match:
                found.add(match.group(1))
            elif line.strip() and not line.startswith("--"):
                break
        return found

    @property
    def required_extension(self) -> str | None:
        for directive in self.directives:
            if directive.startswith("requires "):
                return directive.split(None, 1)[1]
        return None


def load_migrations() -> list[Migration]:
    """The migrations shipped with Linli, in order."""
    found = []
    for entry in resources.files("linli.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise ServiceError(f"two migrations share a number: {versions}")
    return found


def migrate(url: str) -> list[str]:
    """Apply every pending migration; returns what was done, one line each."""
    done: list[str] = []
    with connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now(),"
            " skipped boolean NOT NULL DEFAULT false)"
        )
        # Two services migrating at once must not both apply the same file.
        conn.execute("SELECT pg_advisory_lock(hashtext('linli:migrate'))")
        try:
            rows = conn.execute("SELECT version FROM schema_migrations").fetchall()
            applied = {row["version"] for row in rows}
            for migration in load_migrations():
                if migration.version in applied:
                    continue
                done.append(_apply(conn, migration))
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext('linli:migrate'))")
    return done


def _apply(conn: psycopg.Connection[Any], migration: Migration) -> str:
    label = f"{migration.version:04d}_{migration.name}"
    extension = migration.required_extension
    if extension and not _extension_available(conn, extension):
        conn.execute(
            "INSERT INTO schema_migrations (version, name, skipped) VALUES (%s, %s, true)",
            (migration.version, migration.name),
        )
        log.info("migration %s skipped: extension %s not available", label, extension)
        return f"{label} skipped ({extension} not available)"
    try:
        if "no-transaction" in migration.directives:
            for statement in split_statements(migration.sql):
                conn.execute(statement.encode())
            conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                (migration.version, migration.name),
            )
        else:
            with conn.transaction():
                conn.execute(migration.sql.encode())
                conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                    (migration.version, migration.name),
                )
    except psycopg.Error as exc:
        raise ServiceError(f"migration {label} failed: {_first_line(exc)}") from exc
    log.info("migration %s applied", label)
    return f"{label} applied"


def _extension_available(conn: psycopg.Connection[Any], name: str) -> bool:
    row = conn.execute(
        "SELECT count(*) AS n FROM pg_available_extensions WHERE name = %s", (name,)
    ).fetchone()
    return bool(row and row["n"])


def split_statements(sql: str) -> list[str]:
    """Split a migration on semicolons at line ends, ignoring comment-only chunks.

    Good enough for our migrations (no semicolons inside strings or function bodies);
    files that need those stay transactional and run as one script.
    """
    statements = []
    current: list[str] = []
    for line in sql.splitlines():
        current.append(line)
        if line.rstrip().endswith(";"):
            text = "\n".join(current).strip()
            if any(ln.strip() and not ln.strip().startswith("--") for ln in current):
                statements.append(text)
            current = []
    if any(ln.strip() and not ln.strip().startswith("--") for ln in current):
        statements.append("\n".join(current).strip())
    return statements


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
