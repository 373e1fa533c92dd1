"""The README's first command: ``linli demo`` on embedded defaults shows the silent-resident
alert and the grid worker's push, with doors on simulated Hikvision, Dahua and ZKTeco
terminals, and prints one login per role; logged in as each, one sees only what the role
may see."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from contextlib import closing
from pathlib import Path
from typing import Any

from linli.embedded import free_port
from tests.accounts import logged_in
from tests.e2e.conftest import wait_until

LOGIN = re.compile(r"^  .+ \((\w+)\): (\S+)  /  (\S+)$")
FULL_PHONE = re.compile(r"(?<![0-9a-f-])(?:\d{3}-\d{4}-\d{4}|1\d{10})(?![0-9a-f-])")
"""A phone number in full in a text: the simulator's (100-0000-0079) or a mobile's (not
part of a UUID); masked ones read 100******0079 or 138****5678."""


def phones(value: Any) -> list[str]:
    """Every ``phone`` field in a JSON document."""
    if isinstance(value, dict):
        return [p for k, v in value.items()
                for p in ([v] if k == "phone" and isinstance(v, str) else phones(v))]
    if isinstance(value, list):
        return [p for v in value for p in phones(v)]
    return []


def all_masked(document: Any) -> bool:
    found = phones(document)
    return bool(found) and all("*" in p for p in found)


class Demo:
    """``linli demo`` as a process, its output collected line by line."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "linli.cli", "demo", *args],
                                     env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def out(self) -> str:
        return "\n".join(self.lines)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reader.join(10)
        return self.proc.returncode


def test_the_demo_raises_the_alert_pushes_it_and_each_role_sees_its_share(
    tmp_path: Path,
) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("LINLI_")}
    port = free_port()
    env.update(LINLI_LOCALE="en", LINLI_API__PORT=str(port))  # the port comes from settings
    demo = Demo(["--dir", str(tmp_path / "demo"), "--timeout", "120"], env)
    try:
        assert wait_until(lambda: "Press Ctrl-C to stop." in demo.lines
                          or demo.proc.poll() is not None, 240), demo.out
        assert demo.proc.poll() is None, demo.out
        assert f"Dashboard: http://127.0.0.1:{port}/" in demo.out
        logins = {m[1]: (m[2], m[3]) for m in map(LOGIN.match, demo.lines) if m}
        assert set(logins) == {"admin", "control_room", "grid_worker", "installer", "auditor"}
        stays_in = next(line for line in demo.lines if "has stayed in since" in line)
        resident = stays_in.split(" (", 1)[1].split(")", 1)[0]
        _each_role_sees_its_share(f"http://127.0.0.1:{port}", logins, resident)
        # The grid worker's push about the resident arrives too.
        name = stays_in.split(" (")[0]
        assert wait_until(lambda: name in demo.out.partition("📱 Push to w-")[2], 60), demo.out
    finally:
        code = demo.stop()
    out = demo.out
    assert code == 0, out
    for vendor in ("Hikvision", "Dahua", "ZKTeco"):
        assert f"simulated {vendor} terminal" in out
    alert = next(line for line in out.splitlines() if line.startswith("Alert #"))
    assert name in alert
    # Nothing else was alerted first: the stay-in resident's alert is number 1, and it says
    # why in words a grid worker reads, the push carrying the same facts. The rules only
    # started once the history was stored, however slow the machine: a half-stored history
    # would show them other residents silent for days.
    assert alert.startswith("Alert #1:"), out
    assert out.index("Door history stored; starting the rules") < out.index(alert), out
    why = next(line for line in out.splitlines() if line.startswith("Why: "))
    assert "Last sign" in why, why
    # The stay-in resident's last return is the latest routine one more than 32 h before the
    # demo starts: depending on the time of day that is 32-56 h of silence, so the rule's
    # reason is their usual silence at this hour, or past 47 h the backstop.
    pushed = out.split(why, 1)[1]
    if "At this time of day" in why:
        # The push (in the grid worker's language) carries the same figures.
        now_hours = why.split("it is now ", 1)[1].split(" h", 1)[0]
        assert f"现在已{now_hours}小时" in pushed or f"it is now {now_hours} h" in pushed, out
    else:
        assert "(over 47 hours always alerts)" in why, why
        now_hours = why.split("No sign of life for ", 1)[1].split(" h", 1)[0]
        assert f"已{now_hours}小时没有任何动静" in pushed or \
            f"No sign of life for {now_hours} h" in pushed, out
    # A duress alarm is critical and reaches the grid worker and the control room at once
    # (how fast is measured by bench/urgent.py, not here).
    assert "Duress alarm → push:" in out and "critical" in out
    duress_pushes = {line.split(":", 1)[0] for line in out.splitlines()
                     if line.startswith("📱 Push to")
                     and ("门禁胁迫报警" in line or "Duress alarm at a door" in line)}
    assert {p.split()[-1][:3] for p in duress_pushes} == {"w-0", "cr-"}, out


def _each_role_sees_its_share(base: str, logins: dict[str, tuple[str, str]],
                              resident: str) -> None:
    clients = {role: logged_in(base, username, password)
               for role, (username, password) in logins.items()}
    try:
        community = clients["admin"].get("/api/v1/communities").json()[0]["id"]
        residents = f"/api/v1/communities/{community}/residents"
        card = f"{residents}/{resident}/timeline"

        # Admin: everyone's names, nobody's phone or contacts in full.
        admin = clients["admin"]
        everyone = admin.get(residents, params={"limit": 1000})
        assert everyone.status_code == 200 and len(everyone.json()["items"]) == 90
        assert all_masked(everyone.json())
        assert admin.get(card).json()["resident"]["contacts_masked"]
        assert all_masked(admin.get(card).json())
        assert not FULL_PHONE.search(admin.get("/api/v1/alerts/1").text)
        assert admin.post("/api/v1/alerts/1/acknowledge", json={}).status_code == 403

        # Control room: the whole community, contacts in full on the resident's card.
        control = clients["control_room"]
        shown = control.get(card).json()["resident"]
        assert not shown["contacts_masked"] and not any("*" in p for p in phones(shown))

        # Grid worker: only their grid's residents and alerts (the silent resident's among them).
        worker = clients["grid_worker"]
        me = worker.get("/api/v1/auth/me").json()
        theirs = worker.get(residents, params={"limit": 1000}).json()["items"]
        assert theirs and len(theirs) < 90
        assert {r["building"] for r in theirs} <= set(me["buildings"])
        alerts = worker.get("/api/v1/alerts").json()["items"]
        everything = control.get("/api/v1/alerts").json()["items"]
        assert 1 in {a["id"] for a in alerts}
        assert {a["id"] for a in alerts} == \
            {a["id"] for a in everything if a["grid"] in me["grids"]}

        # Installer: devices and events, never who passed; no residents at all.
        installer = clients["installer"]
        assert installer.get(residents).status_code == 403
        assert installer.get("/api/v1/alerts").status_code == 403
        events = installer.get("/api/v1/events", params={"limit": 200}).json()["items"]
        assert events and all(e["person_id"] is None and e["person_name"] is None
                              for e in events)
        assert installer.get("/api/v1/devices").status_code == 200

        # Auditor: reads, with phones masked, and changes nothing.
        auditor = clients["auditor"]
        assert auditor.get("/api/v1/alerts").status_code == 200
        assert all_masked(auditor.get(card).json())
        assert auditor.post("/api/v1/alerts/1/acknowledge", json={}).status_code == 403
        assert worker.post("/api/v1/alerts/1/acknowledge", json={}).status_code == 200
    finally:
        for client in clients.values():
            with closing(client):
                pass

