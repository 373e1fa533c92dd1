"""Running one named statement the same way on two databases, and comparing the results.

A ``Case`` is one statement with realistic parameters over the seeded data (``seed.py``).
It runs inside a transaction that is always rolled back, so every case sees the seed as
it was; what a writing statement changed is read back (``snapshot``) before the rollback.
Results are compared normalised: times in UTC, JSON with sorted keys, the transaction's
own now() as a marker, and rows order-insensitive unless the statement orders them.
"""

from __future__ import annotations

import datetime as dt
import decimal
import importlib
import importlib.util
import json
import pkgutil
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tests.timescale.database import Conn
from tests.timescale.seed import Seed, reset_sequences

Params = Mapping[str, Any]
NOW = "<now()>"
SQL_START = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|COPY|CREATE)\b", re.IGNORECASE)

PK = {
    "alerts": "id", "alert_timeline": "id", "notifications": "id",
    "notification_attempts": "id", "dead_letters": "id", "communities": "id",
    "grids": "community, id", "buildings": "community, id",
    "units": "community, building, id", "households": "community, id",
    "residents": "community, id", "grid_workers": "community, id",
    "grid_worker_grids": "community, worker, grid", "devices": "community, building, id",
    "presence": "community, resident", "events": "occurred_at, event_id",
    "absences": "id", "resident_signals": "community, resident",
    "resident_baselines": "community, resident",
}


def table(name: str, where: str = "") -> str:
    """A snapshot query: the table's rows (optionally filtered) in key order."""
    return f"SELECT * FROM {name} {f'WHERE {where}' if where else ''} ORDER BY {PK[name]}"


def query_modules() -> list[str]:
    """Every module holding the named SQL the API and the stages run."""
    import api

    names = ["api.queries"]
    for info in pkgutil.iter_modules(api.__path__):
        if info.ispkg and importlib.util.find_spec(f"api.{info.name}.queries") is not None:
            names.append(f"api.{info.name}.queries")
    return [*sorted(names), "rules.queries", "rules.safety.queries", "rules.care.queries",
            "ingest.queries", "linli.accounts", "linli.alerts", "linli.audit",
            "linli.directory_queries"]


def named_statements() -> dict[str, str]:
    """``module.NAME`` → SQL for every public upper-case string constant that is a statement
    (fragments such as column lists do not start with a verb and are left out)."""
    found = {}
    for module_name in query_modules():
        module = importlib.import_module(module_name)
        for name, value in vars(module).items():
            if (name.isupper() and not name.startswith("_") and isinstance(value, str)
                    and SQL_START.match(value)):
                found[f"{module_name}.{name}"] = value
    return found


Prepare = Callable[[Conn, Seed, bool], None]
Execute = Callable[[Conn, str, Params, bool], tuple[list[Any], int]]


def execute(conn: Conn, sql: str, params: Params, copy_ok: bool) -> tuple[list[Any], int]:
    """Run ``sql`` with ``params``; its rows (if it returns any) and its row count."""
    with conn.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall() if cur.description else []
        return rows, cur.rowcount


@dataclass(frozen=True)
class Case:
    """One statement with one set of parameters."""

    statement: str  # module.NAME
    label: str
    params: Callable[[Seed], Params] = lambda seed: {}
    snapshot: str | None = None
    prepare: Prepare | None = None
    run: Execute = execute
    expect_empty: bool = False
    needs_copy: bool = False
    also_covers: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.statement}:{self.label}"

    @property
    def sql(self) -> str:
        module, _, name = self.statement.rpartition(".")
        value: str = getattr(importlib.import_module(module), name)
        return value

    @property
    def ordered(self) -> bool:
        """Only a SELECT with ORDER BY promises an order."""
        return self.sql.lstrip().upper().startswith("SELECT") and "ORDER BY" in self.sql.upper()


@dataclass(frozen=True)
class Outcome:
    """What one case did on one database, normalised."""

    rows: list[Any]
    rowcount: int
    snapshot: list[Any]


def run_case(conn: Conn, case: Case, seed: Seed, *, copy_ok: bool) -> Outcome:
    """Run ``case`` in a transaction that is rolled back afterwards."""
    with conn.transaction(force_rollback=True):
        reset_sequences(conn)
        row = conn.execute("SELECT now() AS now").fetchone()
        now = row["now"] if row else None
        if case.prepare is not None:
            case.prepare(conn, seed, copy_ok)
        rows, rowcount = case.run(conn, case.sql, case.params(seed), copy_ok)
        snapshot = conn.execute(case.snapshot).fetchall() if case.snapshot else []
    result = [normalise(r, now) for r in rows]
    if not case.ordered:
        result.sort(key=repr)
    return Outcome(result, rowcount, [normalise(r, now) for r in snapshot])


def normalise(value: Any, now: dt.datetime | None) -> Any:
    """A comparable, printable form of a value read from either database."""
    if isinstance(value, dict):
        return {k: normalise(v, now) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normalise(v, now) for v in value]
    if isinstance(value, dt.datetime):
        if now is not None and value == now:
            return NOW
        return value.astimezone(dt.UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, uuid.UUID | decimal.Decimal | dt.date | dt.time | dt.timedelta):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    return value


def jsonable(value: Any) -> str:
    """JSON text of a normalised value, for messages."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
