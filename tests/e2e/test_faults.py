"""The fault suite's smallest run (``bench.faults``): no fault, then ingest SIGKILLed
mid-stream and restarted — every well-formed line stored exactly once, every malformed line
in the rejects files, every malformed message in ``dead_letters``.

The whole suite (broker and database faults too) runs on demand (about 3 minutes): ``python -m bench.faults``.
"""

from __future__ import annotations

import re

import pytest

from bench import faults

pytestmark = pytest.mark.e2e

EVENTS = 400
LINE = re.compile(r"^fault=(\w+) expected=(\d+) stored=(\d+) lost=(\d+) doubled=(\d+) "
                  r"rejects_kept=(\d+) dead_letters=(\d+) seconds=[\d.]+$")


def test_baseline_and_ingest_kill_lose_and_double_nothing(
        capsys: pytest.CaptureFixture[str]) -> None:
    status = faults.main(["--only", "baseline,ingest_kill", "--events", str(EVENTS),
                          "--agents", "2", "--rate", "100"])
    output = capsys.readouterr().out
    rows = {m[1]: [int(x) for x in m.groups()[1:]]
            for m in map(LINE.match, output.splitlines()) if m}
    assert set(rows) == {"baseline", "ingest_kill"}, output
    malformed = sum(1 for seq in range(EVENTS) if faults.is_malformed(seq))
    for name, (expected, stored, lost, doubled, rejects, dead) in rows.items():
        assert (expected, stored, lost, doubled) == (EVENTS - malformed, EVENTS - malformed,
                                                     0, 0), (name, output)
        assert (rejects, dead) == (malformed, faults.DEAD_LETTERS), (name, output)
    assert status == 0, output
