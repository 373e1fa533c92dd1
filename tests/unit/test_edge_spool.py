"""The spool: events and tail cursor in one transaction; order, deletion, locking, speed."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from edge.config import AgentConfig, LogSource
from edge.door.source import DoorSource
from edge.door.tail import Cursor
from edge.rejects import RejectsFile
from edge.sources import SourceContext
from edge.spool import Spool, SpoolFull
from linli.contract import parse_event
from linli.errors import ServiceError
from linli.settings import EdgeSettings

TOPIC = "linli/v1/c/b/d/events"


@pytest.fixture
def spool(tmp_path: Path) -> Any:
    opened = Spool(tmp_path / "spool.db")
    yield opened
    opened.close()


def test_events_and_cursor_are_stored_together(spool: Spool) -> None:
    spool.append("src", [(TOPIC, b"1"), (TOPIC, b"2")], Cursor(1, 2, 30, 2))
    assert [m.payload for m in spool.pending(0, 10)] == [b"1", b"2"]
    assert spool.cursor("src") == Cursor(1, 2, 30, 2)
    assert spool.cursor("other") is None


def test_a_failing_batch_leaves_neither_events_nor_cursor(spool: Spool) -> None:
    spool.append("src", [(TOPIC, b"kept")], Cursor(1, 2, 10, 1))
    # the third message has no topic: the insert fails after two rows went in
    broken: list[Any] = [(TOPIC, b"a"), (TOPIC, b"b"), (None, b"c")]
    with pytest.raises(sqlite3.Error):
        spool.append("src", broken, Cursor(1, 2, 99, 4), rejected=1, last_reject="x")
    assert [m.payload for m in spool.pending(0, 10)] == [b"kept"]
    assert spool.cursor("src") == Cursor(1, 2, 10, 1)
    assert spool.rejects() == (0, None)


def test_pending_in_order_and_acknowledged_ones_deleted(spool: Spool) -> None:
    spool.append("src", [(TOPIC, str(i).encode()) for i in range(5)], Cursor(1, 2, 5, 5))
    first = spool.pending(0, 3)
    assert [m.payload for m in first] == [b"0", b"1", b"2"]
    assert [m.payload for m in spool.pending(first[-1].seq, 10)] == [b"3", b"4"]
    spool.delete([first[0].seq, first[2].seq])
    assert [m.payload for m in spool.pending(0, 10)] == [b"1", b"3", b"4"]
    assert spool.depth() == 3
    assert [m.payload for m in spool.fetch([first[2].seq, first[1].seq])] == [b"1"]


def test_seqs_are_never_reused(spool: Spool) -> None:
    spool.append("src", [(TOPIC, b"old")], Cursor(1, 2, 1, 1))
    (old,) = spool.pending(0, 10)
    spool.delete([old.seq])
    spool.append("src", [(TOPIC, b"new")], Cursor(1, 2, 2, 2))
    (new,) = spool.pending(old.seq, 10)
    assert new.seq > old.seq


def test_rejected_lines_are_counted_with_the_last_reason(spool: Spool) -> None:
    spool.append("a", [], Cursor(1, 2, 1, 1), rejected=2, last_reject="first")
    spool.append("b", [], Cursor(1, 3, 1, 1), rejected=1, last_reject="second")
    assert spool.rejects() == (3, "second")


def test_a_second_agent_on_the_same_spool_is_refused(spool: Spool) -> None:
    with pytest.raises(ServiceError, match="another edge agent"):
        Spool(spool.path)
    spool.close()
    Spool(spool.path).close()


def test_fifty_thousand_events_go_in_and_out_in_order(spool: Spool) -> None:
    # How fast is measured by bench/pipeline.py, not here: a rate depends on the machine.
    payload = b"x" * 320
    total, batch = 50_000, 500
    for offset in range(0, total, batch):
        spool.append("src", [(TOPIC, payload)] * batch, Cursor(1, 2, offset, offset))
    after, seqs = 0, []
    while rows := spool.pending(after, 1000):
        after = rows[-1].seq
        spool.delete([row.seq for row in rows])
        seqs += [row.seq for row in rows]
    assert len(seqs) == total and seqs == sorted(set(seqs)) and spool.depth() == 0


KILLED_WRITER = """
import sys
from pathlib import Path
from edge.door.tail import Cursor
from edge.spool import Spool, SpoolFull
spool = Spool(Path(sys.argv[1]))
saved = spool.cursor("src")
done = saved.offset if saved else 0
print("ready", flush=True)
while True:
    size = done % 50 + 1
    spool.append("src", [(sys.argv[2], b"m")] * size, Cursor(1, 2, done + size, 0))
    done += size
"""


def test_killed_mid_write_events_always_match_the_cursor(tmp_path: Path) -> None:
    path = tmp_path / "spool.db"
    for delay in (0.05, 0.15, 0.3):
        writer = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(path), TOPIC],
                                  stdout=subprocess.PIPE)
        assert writer.stdout is not None and writer.stdout.readline() == b"ready\n"
        time.sleep(delay)
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        spool = Spool(path)
        cursor = spool.cursor("src")
        assert cursor is not None and cursor.offset > 0
        assert spool.depth() == cursor.offset  # every stored event has its cursor, no more
        spool.close()


def test_a_source_spools_each_line_exactly_once_across_restarts(tmp_path: Path) -> None:
    log = tmp_path / "door.jsonl"
    config = AgentConfig.model_validate({
        "community": "juxin", "building": "b01",
        "sources": [{"device": "b01-u1-door", "path": str(log)}]})
    line = '{{"time": "2026-11-22T08:00:{:02d}+08:00", "event": "passage", "seq": {}}}\n'
    log.write_text("".join(line.format(i, i) for i in range(3)) + "garbage\n")
    rejects = RejectsFile(tmp_path / "rejects.jsonl")

    def run_once() -> None:
        spool = Spool(tmp_path / "spool.db")
        context = SourceContext(config.community, config.building, spool, rejects,
                                EdgeSettings(poll_interval_s=0.01), lambda: None)
        assert isinstance(config.sources[0], LogSource)
        source = DoorSource(config.sources[0], context)
        while source.step():
            pass
        spool.close()

    run_once()
    with log.open("a") as out:
        out.write(line.format(3, 3))
    run_once()
    spool = Spool(tmp_path / "spool.db")
    events = [parse_event(m.topic, m.payload) for m in spool.pending(0, 100)]
    assert [e.attrs["seq"] for e in events] == [0, 1, 2, 3]
    count, last_reason = spool.rejects()
    assert count == 1 and last_reason is not None and last_reason.startswith("not JSON")
    (entry,) = [json.loads(x) for x in rejects.path.read_text().splitlines()]
    assert (entry["file"], entry["line"], entry["raw"]) == (str(log), 4, "garbage")
    assert entry["reason"].startswith("not JSON") and entry["at"]
    spool.close()


def test_events_and_their_checkpoint_are_stored_together(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.db")
    assert spool.checkpoint("terminal") is None
    spool.append_events("terminal", [("t/1", b"a"), ("t/1", b"b")], checkpoint="rec-41")
    spool.append_events("terminal", [("t/1", b"c")])  # no checkpoint: the old one stays
    spool.close()
    spool = Spool(tmp_path / "spool.db")
    assert spool.checkpoint("terminal") == "rec-41"
    assert [m.payload for m in spool.pending(0, 10)] == [b"a", b"b", b"c"]
    spool.close()


# A file size limit (RLIMIT_FSIZE) fails the WAL write of the COMMIT for real; SQLite then
# ends the transaction itself, and a ROLLBACK after it used to raise "cannot rollback - no
# transaction is active", hiding the error that mattered.
FAILED_COMMIT = """
import json, os, resource, signal, sys
from pathlib import Path
from edge.door.tail import Cursor
from edge.spool import Spool, SpoolFull
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() fails with EFBIG instead
spool = Spool(Path(sys.argv[1]))
spool.append("src", [("t", b"first")], Cursor(1, 2, 5, 1))
largest = max(p.stat().st_size for p in Path(sys.argv[1]).parent.iterdir())
resource.setrlimit(resource.RLIMIT_FSIZE, (largest + 8192, resource.RLIM_INFINITY))
try:
    spool.append("src", [("t", os.urandom(64_000))], Cursor(1, 2, 9, 2))
    raised = {}
except Exception as exc:
    raised = {"type": type(exc).__name__, "message": str(exc), "cause": str(exc.__cause__),
              "code": getattr(exc.__cause__, "sqlite_errorname", None)}
resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
print(json.dumps({**raised, "problem": spool.problem, "depth": spool.depth(),
                  "offset": spool.cursor("src").offset}))
"""


def test_a_failed_commit_raises_the_real_sqlite_error(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", FAILED_COMMIT, str(tmp_path / "spool.db")],
                          capture_output=True, text=True, timeout=60, check=True)
    result = json.loads(done.stdout)
    assert result["type"] == "SpoolWriteError"
    assert result["code"] == "SQLITE_IOERR_WRITE" and result["cause"] == "disk I/O error"
    assert "disk I/O error" in result["message"] and "rollback" not in result["message"]
    assert "rollback" not in done.stderr.lower() or "rollback failed too" in done.stderr
    # the batch and its cursor are both absent, the spool still usable
    assert (result["problem"], result["depth"], result["offset"]) == ("spool_error", 1, 5)


def test_a_batch_larger_than_the_room_left_goes_in_smaller_parts(tmp_path: Path) -> None:
    log = tmp_path / "door.jsonl"
    config = AgentConfig.model_validate({
        "community": "juxin", "building": "b01",
        "sources": [{"device": "b01-u1-door", "path": str(log)}]})
    line = '{{"time": "2026-11-22T08:00:00+08:00", "event": "passage", "seq": {}}}\n'
    log.write_text("".join("garbage\n" if i % 50 == 7 else line.format(i) for i in range(400)))
    rejects = RejectsFile(tmp_path / "rejects.jsonl")
    spool = Spool(tmp_path / "spool.db", hold_s=0.0)
    # a real "disk full": SQLite answers SQLITE_FULL past this many pages, far fewer
    # than the 392 events of the one batch the whole log is
    (pages,) = spool._db.execute("PRAGMA page_count").fetchone()
    spool._db.execute(f"PRAGMA max_page_count={pages + 6}")
    context = SourceContext(config.community, config.building, spool, rejects,
                            EdgeSettings(poll_interval_s=0.01), lambda: None)
    assert isinstance(config.sources[0], LogSource)
    source = DoorSource(config.sources[0], context)
    with pytest.raises(SpoolFull):
        while source.step():
            pass
    stored = spool.depth()
    cursor = spool.cursor(str(log))
    assert cursor is not None and 0 < stored < 392, "the room left was used, no more"
    assert cursor.line == source.lines and source.lines - source.rejected == stored
    assert spool.problem == "spool_full"
    spool._db.execute("PRAGMA max_page_count=1073741823")  # room again
    while source.step():
        pass
    events = [parse_event(m.topic, m.payload) for m in spool.pending(0, 1000)]
    assert [e.attrs["seq"] for e in events] == [i for i in range(400) if i % 50 != 7]
    assert spool.rejects()[0] == 8 and spool.problem is None
    # each rejected line once, though its batch was read again in parts
    assert [json.loads(x)["line"] for x in rejects.path.read_text().splitlines()] == [
        i + 1 for i in range(400) if i % 50 == 7]
    spool.close()


def test_a_capped_spool_fills_like_a_full_disk_and_keeps_what_it_holds(tmp_path: Path) -> None:
    path = tmp_path / "spool.db"
    spool = Spool(path, max_bytes=200_000)
    payload = json.dumps({"pad": "x" * 900}).encode()
    stored = 0
    with pytest.raises(SpoolFull):
        for _ in range(1000):
            spool.append_events("dev", [("linli/v1/c/b/dev/events", payload)])
            stored += 1
    assert 0 < stored < 1000 and spool.depth() == stored and spool.problem == "spool_full"
    (pages,) = spool._db.execute("PRAGMA page_count").fetchone()
    (page_size,) = spool._db.execute("PRAGMA page_size").fetchone()
    assert pages * page_size <= 200_000
    spool.close()
    # reopened with a larger cap, it takes more; with a smaller one it keeps what it holds
    spool = Spool(path, max_bytes=400_000)
    spool.append_events("dev", [("linli/v1/c/b/dev/events", payload)])
    spool.close()
    spool = Spool(path, max_bytes=10_000)
    assert spool.depth() == stored + 1
    spool.close()


def test_a_full_spool_is_reported_until_writes_have_gone_well_for_a_while(
        tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.db", hold_s=0.3)
    (pages,) = spool._db.execute("PRAGMA page_count").fetchone()
    spool._db.execute(f"PRAGMA max_page_count={pages + 2}")
    small, big = b"{}", json.dumps({"pad": "x" * 20_000}).encode()
    with pytest.raises(SpoolFull):
        spool.append_events("dev", [("linli/v1/c/b/dev/events", big)])
    spool.append_events("dev", [("linli/v1/c/b/dev/events", small)])  # the odd line fits
    assert spool.problem == "spool_full", "one write that fits does not end it"
    with pytest.raises(SpoolFull):  # and the next big one fails again
        spool.append_events("dev", [("linli/v1/c/b/dev/events", big)])
    spool.delete([m.seq for m in spool.pending(0, 10)])
    deadline = time.monotonic() + 10
    while spool.problem is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert spool.problem is None, "ended once writes went well for the hold"
    spool.close()
