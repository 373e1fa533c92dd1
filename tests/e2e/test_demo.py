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
    assert "📱 Push to w-" in out
