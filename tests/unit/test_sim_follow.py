"""Following the clock: records appear when their time comes, never ahead of the clock."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from hardware.simulator import CommunitySpec, Simulation

ZONE = ZoneInfo("Asia/Shanghai")
START = dt.datetime(2026, 11, 20, 7, 0, tzinfo=ZONE)  # a Friday morning: people leave


def lines(logs_dir: Path) -> list[dict[str, object]]:
    return [json.loads(line) for path in sorted(logs_dir.glob("*.jsonl"))
            for line in path.read_text("utf-8").splitlines()]


class FakeClock:
    """A clock that moves only when the simulator waits; checks the logs at every wait."""

    def __init__(self, now: dt.datetime, logs_dir: Path, stop: threading.Event,
                 until: dt.datetime) -> None:
        self.now, self.logs_dir, self.stop, self.until = now, logs_dir, stop, until
        self.waits: list[float] = []
        self.seen_ahead: list[dict[str, object]] = []
        self.written_by: dict[tuple[object, object], dt.datetime] = {}
        """(device, seq) → the clock when the line was first seen in the logs."""

    def __call__(self) -> dt.datetime:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.check()
        self.waits.append(seconds)
        self.now += dt.timedelta(seconds=seconds)
        if self.now >= self.until:
            self.stop.set()
        return self.stop.is_set()

    def check(self) -> None:
        for record in lines(self.logs_dir):
            self.written_by.setdefault((record["device"], record["seq"]), self.now)
            if dt.datetime.fromisoformat(str(record["time"])) > self.now:
                self.seen_ahead.append(record)


def test_follow_writes_each_record_when_the_clock_reaches_it(tmp_path: Path) -> None:
    sim = Simulation.create(CommunitySpec(buildings=2, seed=11), tmp_path, now=START)
    history = sim.write_history(24)
    stop = threading.Event()
    clock = FakeClock(START, sim.files.logs_dir, stop, until=START + dt.timedelta(hours=6))
    written = sim.follow(stop, clock=clock, wait=clock.wait)
    clock.check()
    assert written > 20
    assert clock.seen_ahead == []
    assert len(lines(sim.files.logs_dir)) == history + written
    # history then following gives exactly what 30 hours of history up to the end would
    twin = Simulation.create(CommunitySpec(buildings=2, seed=11), tmp_path / "twin",
                             now=clock.now)
    twin.stay_until = sim.stay_until
    twin.write_history(30)
    assert lines(twin.files.logs_dir) == lines(sim.files.logs_dir)


def test_speed_only_shortens_waits_while_behind_the_clock(tmp_path: Path) -> None:
    # Simulated time starts 3 h behind the clock and runs 60x faster until it catches up.
    speed, behind = 60.0, dt.timedelta(hours=3)
    real_start = START + behind
    sim = Simulation.create(CommunitySpec(buildings=2, seed=12), tmp_path, now=START)
    stop = threading.Event()
    clock = FakeClock(real_start, sim.files.logs_dir, stop,
                      until=real_start + dt.timedelta(hours=2))
    written = sim.follow(stop, speed=speed, clock=clock, wait=clock.wait)
    clock.check()
    assert clock.seen_ahead == []
    records = lines(sim.files.logs_dir)
    assert written == len(records) > 10
    for record in records:
        at = dt.datetime.fromisoformat(str(record["time"]))
        # the real time when simulated time (min(clock, START + 60 x elapsed)) reaches it
        due = max(at, real_start + (at - START) / speed)
        written_by = clock.written_by[(record["device"], record["seq"])]
        assert due <= written_by <= due + dt.timedelta(seconds=1), record
    times = [dt.datetime.fromisoformat(str(r["time"])) for r in records]
    assert any(t < real_start for t in times) and any(t > real_start for t in times)
    # nothing was skipped: the same records as a history of the whole span
    twin = Simulation.create(CommunitySpec(buildings=2, seed=12), tmp_path / "twin",
                             now=clock.now)
    twin.stay_until = sim.stay_until
    twin.write_history((clock.now - START).total_seconds() / 3600)
    assert lines(twin.files.logs_dir) == records


def test_follow_stops_promptly_on_the_real_clock(tmp_path: Path) -> None:
    sim = Simulation.create(CommunitySpec(buildings=1, seed=13), tmp_path)
    stop = threading.Event()
    result: list[int] = []
    worker = threading.Thread(target=lambda: result.append(sim.follow(stop)))
    worker.start()
    time.sleep(0.2)
    stop.set()
    worker.join(timeout=5)
    assert not worker.is_alive()
    now = dt.datetime.now(dt.UTC)
    assert all(dt.datetime.fromisoformat(str(r["time"])) <= now
               for r in lines(sim.files.logs_dir))
    assert len(result) == 1
