"""The terminal source base: de-duplication, replayed history against the checkpoint,
rejects, the catch-up window and the reconnect loop — on a real spool in a temp folder."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from edge.rejects import RejectedLine, RejectsFile
from edge.sources import SourceContext
from edge.spool import Spool
from edge.vendors.config import TerminalSection
from edge.vendors.multipart import BadPart, Part
from edge.vendors.records import TerminalRecord
from edge.vendors.terminal import TerminalError, TerminalSource
from linli.contract import Event, EventKind, Source, utc_now
from linli.settings import EdgeSettings


class Config(TerminalSection):
    type: str = "scripted"


class ScriptedTerminal(TerminalSource):
    """A terminal whose sessions and searches the test scripts."""

    vendor = "scripted"

    def __init__(self, config: TerminalSection, context: SourceContext) -> None:
        super().__init__(config, context)
        self.pages: list[list[TerminalRecord]] = []
        self.windows: list[tuple[dt.datetime, dt.datetime]] = []
        self.sessions = 0

    def session(self, stop: threading.Event) -> None:
        self.sessions += 1
        raise TerminalError(f"session {self.sessions} failed")

    def search(self, start: dt.datetime, end: dt.datetime,
               stop: threading.Event) -> Iterator[Sequence[TerminalRecord]]:
        self.windows.append((start, end))
        yield from self.pages

    def take(self, items: Sequence[Part | BadPart], channel: str) -> None:
        raise AssertionError("these sessions never open a stream")


@pytest.fixture
def context(tmp_path: Path) -> Iterator[SourceContext]:
    spool = Spool(tmp_path / "spool.db")
    yield SourceContext("juxin", "b01", spool, RejectsFile(tmp_path / "rejects.jsonl"),
                        EdgeSettings(), lambda: None)
    spool.close()


def terminal(context: SourceContext, **values: object) -> ScriptedTerminal:
    return ScriptedTerminal(Config.model_validate({"device": "d1", "host": "h", **values}),
                            context)


def record(minutes_ago: float, number: int, *, history: bool = False,
           kind: EventKind | None = EventKind.PASSAGE) -> TerminalRecord:
    at = (utc_now() - dt.timedelta(minutes=minutes_ago)).replace(microsecond=0)
    record_id = uuid.uuid5(uuid.NAMESPACE_OID, f"{number}@{at.timestamp()}")
    event = None if kind is None else Event(
        event_id=record_id, occurred_at=at, community="juxin", building="b01", device="d1",
        kind=kind, source=Source.DOOR)
    return TerminalRecord(record_id, at, number, event=event, history=history)


def spooled_ids(context: SourceContext) -> list[str]:
    return [json.loads(m.payload)["event_id"] for m in context.spool.pending(0, 1000)]


def test_duplicates_are_dropped_and_the_checkpoint_survives_a_restart(
        context: SourceContext) -> None:
    source = terminal(context)
    first, second = record(5, 1), record(4, 2)
    assert source.accept([first, second, first]) == 2
    assert source.accept([second]) == 0
    assert source.stats.duplicates == 2
    assert spooled_ids(context) == [str(first.record_id), str(second.record_id)]
    restarted = terminal(context)
    assert restarted.device_status()["checkpoint"] == second.at.isoformat()  # type: ignore[index]


def test_replayed_history_older_than_the_checkpoint_is_skipped(context: SourceContext) -> None:
    source = terminal(context)
    source.accept([record(10, 1), record(5, 2)])
    replay = [record(10, 1, history=True), record(7, 3, history=True),
              record(5, 2, history=True), record(5, 5, history=True),
              record(1, 4, history=True)]
    # same second as the checkpoint: only a higher number is new
    assert source.accept(replay) == 2
    assert source.stats.history_skipped == 3 and source.stats.duplicates == 0


def test_on_a_first_start_history_beyond_the_backfill_window_is_skipped(
        context: SourceContext) -> None:
    source = terminal(context, backfill_hours=1)
    assert source.accept([record(180, 1, history=True), record(30, 2, history=True)]) == 1


def test_rejects_and_ignored_codes_are_kept_aside_and_counted(
        context: SourceContext, tmp_path: Path) -> None:
    source = terminal(context)
    ignored = record(3, 7, kind=None)
    bad = TerminalRecord(uuid.uuid4(), ignored.at, 8,
                         rejected=RejectedLine("scripted:d1", 8, b"{}", "unknown code 9.9"))
    source.accept([ignored, bad], [RejectedLine("scripted:d1", 0, b"??", "broken part")])
    assert (source.stats.ignored, source.stats.rejected, source.stats.events) == (1, 2, 0)
    reasons = [json.loads(line)["reason"] for line in
               (tmp_path / "rejects.jsonl").read_text().splitlines()]
    assert reasons == ["broken part", "unknown code 9.9"]
    assert context.spool.rejects() == (2, "unknown code 9.9")


def test_the_catch_up_window_starts_at_the_checkpoint(context: SourceContext) -> None:
    source = terminal(context, backfill_hours=2)
    source.pages = [[record(50, 1), record(40, 2)], [record(30, 3)]]
    assert source.catch_up(threading.Event()) == 3
    start, end = source.windows[0]
    assert utc_now() - start == pytest.approx(dt.timedelta(hours=2), abs=dt.timedelta(seconds=5))
    assert end > utc_now()
    source.pages = []
    source.catch_up(threading.Event())
    assert source.windows[1][0] == record(30, 3).at
    assert terminal(context, catch_up=False).catch_up(threading.Event()) == 0


def test_a_checkpoint_ahead_of_the_device_clock_falls_back_to_the_window(
        context: SourceContext) -> None:
    source = terminal(context, backfill_hours=1)
    source.accept([record(-600, 1)])  # a record ten hours in the future: the clock was wrong
    source.catch_up(threading.Event())
    start, _ = source.windows[0]
    assert utc_now() - start == pytest.approx(dt.timedelta(hours=1), abs=dt.timedelta(seconds=5))


def test_failing_sessions_back_off_and_stop_promptly(context: SourceContext) -> None:
    source = terminal(context, reconnect_max_s=0.2)
    stop = threading.Event()
    thread = threading.Thread(target=source.run, args=(stop,))
    thread.start()
    deadline = time.monotonic() + 10
    while source.sessions < 3:
        assert time.monotonic() < deadline, "no reconnections"
        time.sleep(0.01)
    stop.set()
    thread.join(2)
    assert not thread.is_alive()
    assert source.health()["state"] == "stopped" and source.stats.reconnects >= 2
    assert (source.device_status() or {})["last_error"].startswith("session ")
