"""Reading what the safety rules decide on: events by kind, and each subject's history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from rules.framework import Community, Conn
from rules.safety import queries
from rules.safety.events import DoorEvent, History


def events_of_kinds(conn: Conn, community: Community, kinds: Sequence[str], *,
                    since: dt.datetime, until: dt.datetime) -> list[DoorEvent]:
    """The community's events of ``kinds`` in ``(since, until]``, in time order."""
    rows = conn.execute(queries.EVENTS_OF_KINDS, {
        "community": community.id, "kinds": list(kinds), "since": since, "until": until,
    }).fetchall()
    return [DoorEvent.from_row(row) for row in rows]


def histories(conn: Conn, community: Community, rule: str,
              subjects: Iterable[str]) -> dict[str, History]:
    """Each subject's history under ``rule`` (an empty History when it never alerted)."""
    wanted = sorted(set(subjects))
    if not wanted:
        return {}
    rows = conn.execute(queries.SUBJECT_HISTORY, {
        "community": community.id, "rule": rule, "subjects": wanted,
    }).fetchall()
    found = {row["subject"]: History.from_row(row) for row in rows}
    return {subject: found.get(subject, History()) for subject in wanted}
