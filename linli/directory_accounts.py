"""Accounts of a directory's staff, kept in step by ``linli import``.

Every row of ``grid_workers`` (grid workers, control room, installers) gets a login the
first time it is imported: its ``username``, else ``<community>.<worker id>``, with a
random initial password that must be changed at the first login. The passwords are
returned once in the import's summary, for the operator to hand out; nothing else shows
or logs them. Later imports never touch passwords; they follow the directory's name and
role for the person, and disable the account (ending its sessions and tokens) of a worker
who left the file. A worker who comes back keeps a disabled account until an
administrator enables it (``linli users enable``): it may have been disabled on purpose.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.rows import dict_row

from linli import directory_queries as q
from linli import users
from linli.accounts import new_password

if TYPE_CHECKING:
    from linli.directory import Directory, GridWorker, ImportSummary

__all__ = ["NewAccount", "account_name", "sync_accounts", "username_problems"]


@dataclass(frozen=True, slots=True)
class NewAccount:
    """An account the import made: ``password`` is shown once."""

    username: str
    worker: str
    role: str
    password: str


def account_name(community: str, worker: GridWorker) -> str:
    """The user name of a worker's account: their ``username``, else ``<community>.<id>``."""
    return worker.username or f"{community}.{worker.id}"


def username_problems(community: str, workers: Sequence[GridWorker]) -> list[str]:
    """Default user names that would be too long (an explicit one is checked by its model)."""
    return [
        f"grid_workers[{i}].id: the user name {account_name(community, w)!r} would be "
        "too long; give the worker a shorter username"
        for i, w in enumerate(workers)
        if w.username is None and not users.USERNAME.match(account_name(community, w))
    ]


def sync_accounts(conn: psycopg.Connection[Any], directory: Directory, summary: ImportSummary,
                  actor: users.Actor) -> None:
    """Make, update or disable the staff's accounts after their rows were imported."""
    community = directory.community.id
    listed = {w.id: (i, w) for i, w in enumerate(directory.grid_workers)}
    with conn.cursor(row_factory=dict_row) as cur:
        rows = [dict(r) for r in cur.execute(q.WORKER_ACCOUNTS, {"community": community})]
    for row in rows:
        if row["worker"] not in listed:
            if row["user_id"] is not None and row["disabled_at"] is None:
                users.set_disabled(conn, username=row["username"], disabled=True, actor=actor,
                                   reason="no longer in the community directory")
                summary.disabled_accounts.append(row["username"])
            continue
        index, worker = listed[row["worker"]]
        if row["user_id"] is None:
            summary.new_accounts.append(_create(conn, community, index, worker, actor))
            continue
        with conn.cursor(row_factory=dict_row) as cur:
            updated = cur.execute(q.UPDATE_WORKER_ACCOUNT, {
                "user_id": row["user_id"], "role": worker.role,
                "display_name": worker.name}).fetchone()
        if updated is not None:
            users.audit_change(conn, actor, "user.updated", row["username"],
                               community=community,
                               detail={"role": worker.role, "source": "directory"})
            summary.updated_accounts.append(row["username"])


def _create(conn: psycopg.Connection[Any], community: str, index: int, worker: GridWorker,
            actor: users.Actor) -> NewAccount:
    from linli.directory import DirectoryError

    username = account_name(community, worker)
    password = new_password()
    try:
        users.create_user(conn, username=username, role=worker.role, password=password,
                          must_change_password=True, actor=actor, community=community,
                          worker=worker.id, display_name=worker.name)
    except users.AccountError as exc:  # e.g. the name is another person's login
        raise DirectoryError(f"community {community}",
                             [f"grid_workers[{index}].username: {exc}"]) from exc
    return NewAccount(username=username, worker=worker.id, role=worker.role, password=password)
