"""The README's first command: ``linli demo`` on embedded defaults shows the silent-resident
alert and the grid worker's push, with doors on simulated Hikvision, Dahua and ZKTeco terminals."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_the_demo_raises_the_alert_and_pushes_it(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("LINLI_")}
    env["LINLI_LOCALE"] = "en"
    result = subprocess.run(
        [sys.executable, "-m", "linli.cli", "demo", "--until-alert", "--port", "0",
         "--dir", str(tmp_path / "demo"), "--timeout", "120"],
        env=env, capture_output=True, text=True, timeout=240, check=False)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    for vendor in ("Hikvision", "Dahua", "ZKTeco"):
        assert f"simulated {vendor} terminal" in out
    stays_in = next(line for line in out.splitlines() if "has stayed in since" in line)
    name = stays_in.split(" (")[0]
    alert = next(line for line in out.splitlines() if line.startswith("Alert #"))
    assert name in alert
    # Nothing else was alerted first: the stay-in resident's alert is number 1, and it says
    # why in words a grid worker reads, the push carrying the same facts.
    assert alert.startswith("Alert #1:"), out
    why = next(line for line in out.splitlines() if line.startswith("Why: "))
    assert "At this time of day" in why and "Last sign" in why, why
    # The push (in the grid worker's language) carries the same figures.
    now_hours = why.split("it is now ", 1)[1].split(" h", 1)[0]
    assert f"现在已{now_hours}小时" in out.split(why, 1)[1] or \
        f"it is now {now_hours} h" in out.split(why, 1)[1], out
    assert "📱 Push to w-" in out
    # A duress alarm is critical and reaches the grid worker and the control room at once
    # (how fast is measured by bench/urgent.py, not here).
    assert "Duress alarm → push:" in out and "critical" in out
    duress_pushes = {line.split(":", 1)[0] for line in out.splitlines()
                     if line.startswith("📱 Push to")
                     and ("门禁胁迫报警" in line or "Duress alarm at a door" in line)}
    assert {p.split()[-1][:3] for p in duress_pushes} == {"w-0", "cr-"}, out
