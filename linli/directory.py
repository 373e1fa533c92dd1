"""The community directory: places, people and devices, imported from one YAML file.

``load_directory(path)`` reads and validates the file (``extra="forbid"`` models, then
cross-references: a resident's household exists, a building's grid exists …); every problem
names its field, e.g. ``residents[3].household: no household 'h-9' in households``.
``import_directory(conn, directory)`` upserts it in one transaction and returns what
changed. The file describes its whole community: residents and grid workers it no longer
lists are deactivated (kept for history, no longer watched or notified); places and
devices are never deleted by an import. Staff get accounts on their first import, and lose
them when they leave the file (``linli.directory_accounts``).

Notify URLs carry tokens: nothing here prints or logs them.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import psycopg
import yaml
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from pydantic import field_validator as validator

from linli import directory_queries as q
from linli.directory_accounts import (
    NewAccount,
    account_name,
    sync_accounts,
    username_problems,
)
from linli.errors import ConfigError
from linli.topics import IDENTIFIER
from linli.users import USERNAME, Actor, cli_actor

__all__ = ["Directory", "DirectoryError", "ImportSummary", "import_directory", "load_directory"]

TopicId = Annotated[str, StringConstraints(pattern=IDENTIFIER.pattern)]
"""Ids that appear in MQTT topics (community, building, device)."""
Key = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
"""Other ids (grid, unit, household, resident, worker): 1–64 characters, no spaces."""
Text = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
MAX_PROBLEMS_SHOWN = 20


class _Model(BaseModel):
    # Rooms and phone numbers are often written unquoted in YAML; keep them as text.
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


class CommunityInfo(_Model):
    id: TopicId
    name: Text
    timezone: str = "Asia/Shanghai"
    silent_check_at: dt.time | None = None
    silent_max_hours: float | None = Field(None, gt=0, le=24 * 14)
    locale: Literal["zh-CN", "en"] = "zh-CN"

    @validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @validator("silent_check_at", mode="before")
    @classmethod
    def _quoted_time(cls, value: Any) -> Any:
        # YAML 1.1 reads an unquoted 20:00 as the number 1200 (base 60).
        if isinstance(value, int | float) and not isinstance(value, bool):
            raise ValueError('write the time in quotes, e.g. "20:00"')
        return value


class Grid(_Model):
    id: Key
    name: Text


class Unit(_Model):
    id: Key
    name: Text


class PlanPosition(_Model):
    """Where a building sits on the community's site plan, 0–1 from the left and top."""

    x: float = Field(ge=0, le=1)
    y: float = Field(ge=0, le=1)


class Building(_Model):
    id: TopicId
    name: Text
    grid: Key | None = None
    plan: PlanPosition | None = None
    """Optional; buildings without one are laid out on a grid by the API."""
    units: list[Unit] = Field(default_factory=list)


class Household(_Model):
    id: Key
    building: TopicId
    unit: Key | None = None
    room: Text | None = None


class EmergencyContact(_Model):
    name: Text
    phone: Text
    relation: Text | None = None


class Resident(_Model):
    id: Key
    name: Text
    household: Key | None = None
    phone: Text | None = None
    elderly: bool = False
    lives_alone: bool = False
    care_level: int = Field(0, ge=0, le=5)
    emergency_contacts: list[EmergencyContact] = Field(default_factory=list)


class GridWorker(_Model):
    id: Key
    name: Text
    username: Annotated[str, StringConstraints(pattern=USERNAME.pattern)] | None = None
    """The login made for them on the first import; default ``<community>.<id>``."""
    phone: Text | None = None
    role: Literal["grid_worker", "control_room", "installer"] = "grid_worker"
    grids: list[Key] = Field(default_factory=list)
    locale: Literal["zh-CN", "en"] | None = None
    notify: list[Annotated[str, StringConstraints(min_length=3, max_length=2000)]] = Field(
        default_factory=list
    )


class Device(_Model):
    building: TopicId
    id: TopicId
    kind: Literal["door", "camera", "sensor", "agent"] = "door"
    name: Text | None = None
    household: Key | None = None
    """The home an apartment door contact or an in-home sensor belongs to: its events count
    for that household's residents even when they name nobody."""
    door: TopicId | None = None
    """For a camera counting people through a doorway: the door device in the same
    building whose granted passages it is compared with (tailgating)."""


class Directory(_Model):
    """One community's directory file (format 3 of the shared brief)."""

    community: CommunityInfo
    grids: list[Grid] = Field(default_factory=list)
    buildings: list[Building] = Field(default_factory=list)
    households: list[Household] = Field(default_factory=list)
    residents: list[Resident] = Field(default_factory=list)
    grid_workers: list[GridWorker] = Field(default_factory=list)
    devices: list[Device] = Field(default_factory=list)


class DirectoryError(ConfigError):
    """The directory file is unreadable or invalid; ``problems`` has one entry per field."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.problems = problems
        shown = problems[:MAX_PROBLEMS_SHOWN]
        more = len(problems) - len(shown)
        tail = f"; … and {more} more" if more > 0 else ""
        super().__init__(f"{source}: " + "; ".join(shown) + tail)


def load_directory(path: Path | str) -> Directory:
    """Read, validate and cross-check a directory YAML file."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DirectoryError(str(path), [f"cannot read: {exc}"]) from exc
    return parse_directory(raw, source=str(path))


def parse_directory(raw: Any, *, source: str = "directory") -> Directory:
    """Validate already-loaded data; DirectoryError lists every problem by field."""
    if not isinstance(raw, Mapping):
        raise DirectoryError(source, ["the file must hold a mapping with a 'community' key"])
    try:
        directory = Directory.model_validate(raw)
    except ValidationError as exc:
        raise DirectoryError(source, [_describe(err) for err in exc.errors()]) from exc
    problems = check_references(directory)
    if problems:
        raise DirectoryError(source, problems)
    return directory


def _describe(err: Any) -> str:
    # Only the location and message: the offending input may be a notify URL (a secret).
    return f"{_where(err['loc'])}: {err['msg']}"


def _where(loc: Iterable[Any]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(file)"


def check_references(d: Directory) -> list[str]:
    """Problems with ids: duplicates and references to things the file does not define."""
    problems: list[str] = []
    grids = {g.id for g in d.grids}
    units = {b.id: {u.id for u in b.units} for b in d.buildings}
    households = {h.id for h in d.households}
    problems += _duplicates("grids", [g.id for g in d.grids])
    problems += _duplicates("buildings", [b.id for b in d.buildings])
    problems += _duplicates("households", [h.id for h in d.households])
    problems += _duplicates("residents", [r.id for r in d.residents])
    problems += _duplicates("grid_workers", [w.id for w in d.grid_workers])
    problems += _duplicates("devices", [f"{x.building}/{x.id}" for x in d.devices])
    for i, b in enumerate(d.buildings):
        problems += _duplicates(f"buildings[{i}].units", [u.id for u in b.units])
        if b.grid is not None and b.grid not in grids:
            problems.append(f"buildings[{i}].grid: no grid {b.grid!r} in grids")
    for i, h in enumerate(d.households):
        if h.building not in units:
            problems.append(f"households[{i}].building: no building {h.building!r} in buildings")
        elif h.unit is not None and h.unit not in units[h.building]:
            problems.append(
                f"households[{i}].unit: building {h.building!r} has no unit {h.unit!r}"
            )
    for i, r in enumerate(d.residents):
        if r.household is not None and r.household not in households:
            problems.append(
                f"residents[{i}].household: no household {r.household!r} in households"
            )
    problems += username_problems(d.community.id, d.grid_workers)
    problems += _duplicates("grid_workers (user names)",
                            [account_name(d.community.id, w).lower() for w in d.grid_workers])
    for i, w in enumerate(d.grid_workers):
        problems += _duplicates(f"grid_workers[{i}].grids", w.grids)
        for j, grid in enumerate(w.grids):
            if grid not in grids:
                problems.append(f"grid_workers[{i}].grids[{j}]: no grid {grid!r} in grids")
    doors = {(x.building, x.id) for x in d.devices if x.kind == "door"}
    for i, x in enumerate(d.devices):
        if x.building not in units:
            problems.append(f"devices[{i}].building: no building {x.building!r} in buildings")
        if x.household is not None and x.household not in households:
            problems.append(f"devices[{i}].household: no household {x.household!r} in households")
        if x.door is not None and (x.building, x.door) not in doors:
            problems.append(f"devices[{i}].door: no door device {x.door!r} in building "
                            f"{x.building!r}")
    return problems


def _duplicates(where: str, ids: list[str]) -> list[str]:
    return [f"{where}: {key!r} appears {n} times" for key, n in Counter(ids).items() if n > 1]


@dataclass(frozen=True, slots=True)
class TableCounts:
    """What an import did to one table."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(slots=True)
class ImportSummary:
    """What ``import_directory`` changed, table by table."""

    community: str
    tables: dict[str, TableCounts] = field(default_factory=dict)
    registered_devices: list[str] = field(default_factory=list)
    """Devices that were known only from the wire (unregistered) and now are registered."""
    deactivated_residents: list[str] = field(default_factory=list)
    deactivated_workers: list[str] = field(default_factory=list)
    removed_worker_grids: int = 0
    new_accounts: list[NewAccount] = field(default_factory=list)
    """Accounts made for staff, with their initial passwords: shown once, never logged."""
    updated_accounts: list[str] = field(default_factory=list)
    disabled_accounts: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(
            any(c.inserted or c.updated for c in self.tables.values())
            or self.deactivated_residents
            or self.deactivated_workers
            or self.removed_worker_grids
            or self.new_accounts or self.updated_accounts or self.disabled_accounts
        )

    def lines(self) -> list[str]:
        """A human summary, one line per table (never shows notify URLs)."""
        out = [f"community {self.community}: {'updated' if self.changed else 'no changes'}"]
        for table, c in self.tables.items():
            out.append(
                f"  {table:<18} {c.inserted:>5} new  {c.updated:>5} updated"
                f"  {c.unchanged:>5} unchanged"
            )
        named = (("registered devices seen before provisioning", self.registered_devices),
                 ("deactivated residents", self.deactivated_residents),
                 ("deactivated grid workers", self.deactivated_workers),
                 ("accounts updated (name or role)", self.updated_accounts),
                 ("accounts disabled", self.disabled_accounts))
        out += [f"  {label}: {', '.join(ids)}" for label, ids in named if ids]
        if self.removed_worker_grids:
            out.append(f"  removed grid assignments: {self.removed_worker_grids}")
        return out

    def account_lines(self) -> list[str]:
        """The new accounts and their initial passwords, to hand to each person (shown
        once; they change it at the first login)."""
        if not self.new_accounts:
            return []
        return ["new accounts (initial passwords, shown once; changed at the first login):",
                *(f"  {a.username:<24} {a.role:<13} {a.password}" for a in self.new_accounts)]


def import_directory(conn: psycopg.Connection[Any], directory: Directory, *,
                     actor: Actor | None = None) -> ImportSummary:
    """Upsert ``directory`` in one transaction; importing the same file twice changes nothing.

    Staff get accounts (``linli.directory_accounts``); ``actor`` is who the audit log
    names for them (default: the person at the command line)."""
    c = directory.community.id
    summary = ImportSummary(community=c)
    with conn.transaction():
        summary.tables["communities"] = _upsert(
            conn, q.UPSERT_COMMUNITY, [directory.community.model_dump()]
        )
        summary.tables["grids"] = _upsert(
            conn, q.UPSERT_GRID, [{"community": c, **g.model_dump()} for g in directory.grids]
        )
        summary.tables["buildings"] = _upsert(
            conn,
            q.UPSERT_BUILDING,
            [{"community": c, **b.model_dump(exclude={"units", "plan"}),
              "plan_x": b.plan.x if b.plan else None, "plan_y": b.plan.y if b.plan else None}
             for b in directory.buildings],
        )
        summary.tables["units"] = _upsert(
            conn,
            q.UPSERT_UNIT,
            [
                {"community": c, "building": b.id, **u.model_dump()}
                for b in directory.buildings
                for u in b.units
            ],
        )
        summary.tables["households"] = _upsert(
            conn,
            q.UPSERT_HOUSEHOLD,
            [{"community": c, **h.model_dump()} for h in directory.households],
        )
        summary.tables["residents"] = _upsert(
            conn, q.UPSERT_RESIDENT, [_resident_row(c, r) for r in directory.residents]
        )
        _import_workers(conn, directory, summary)
        _import_devices(conn, directory, summary)
        summary.deactivated_residents = _ids(
            conn, q.DEACTIVATE_MISSING_RESIDENTS, community=c,
            keep=[r.id for r in directory.residents],
        )
        summary.deactivated_workers = _ids(
            conn, q.DEACTIVATE_MISSING_WORKERS, community=c,
            keep=[w.id for w in directory.grid_workers],
        )
        sync_accounts(conn, directory, summary, actor or cli_actor())
    return summary


def _resident_row(community: str, r: Resident) -> dict[str, Any]:
    row = r.model_dump()
    row["community"] = community
    row["emergency_contacts"] = Jsonb(
        [contact.model_dump(exclude_none=True) for contact in r.emergency_contacts]
    )
    return row


def _import_workers(
    conn: psycopg.Connection[Any], directory: Directory, summary: ImportSummary
) -> None:
    c = directory.community.id
    summary.tables["grid_workers"] = _upsert(
        conn,
        q.UPSERT_GRID_WORKER,
        [{"community": c, **w.model_dump(exclude={"grids"})} for w in directory.grid_workers],
    )
    links = [(w.id, g) for w in directory.grid_workers for g in w.grids]
    removed = _ids(
        conn, q.DELETE_STALE_WORKER_GRIDS, community=c,
        workers=[w for w, _ in links], grids=[g for _, g in links],
    )
    summary.removed_worker_grids = len(removed)
    summary.tables["grid_worker_grids"] = _upsert(
        conn,
        q.INSERT_WORKER_GRID,
        [{"community": c, "worker": w, "grid": g} for w, g in links],
    )


def _import_devices(
    conn: psycopg.Connection[Any], directory: Directory, summary: ImportSummary
) -> None:
    c = directory.community.id
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(q.UNREGISTERED_DEVICES, {"community": c})
        unknown = {(row["building"], row["id"]) for row in cur.fetchall()}
    summary.tables["devices"] = _upsert(
        conn, q.UPSERT_DEVICE,
        [{"community": c, **x.model_dump(), "keep_links": False} for x in directory.devices]
    )
    summary.registered_devices = [
        f"{x.building}/{x.id}" for x in directory.devices if (x.building, x.id) in unknown
    ]


def _upsert(
    conn: psycopg.Connection[Any], statement: str, rows: list[dict[str, Any]]
) -> TableCounts:
    """Run an upsert for each row; rows it skipped (identical) count as unchanged."""
    inserted = updated = 0
    with conn.cursor(row_factory=dict_row) as cur:
        for row in rows:
            cur.execute(statement, row)
            for result in cur.fetchall():
                if result["inserted"]:
                    inserted += 1
                else:
                    updated += 1
    return TableCounts(inserted, updated, len(rows) - inserted - updated)


def _ids(conn: psycopg.Connection[Any], statement: str, **params: Any) -> list[str]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(statement, params)
        return sorted(str(next(iter(row.values()))) for row in cur.fetchall())

