"""Doors of the simulated community served by simulated vendor terminals instead of a log.

A community can mix vendors: the routines' records for such a door go into a Hikvision,
Dahua or ZKTeco (TCP) simulator (``hardware.simulators``) as that terminal records them, and
the building's agent reads them over the vendor's protocol — the history through the terminal's log search,
the rest live on its event stream. ``source_config`` is the agent's source for the door.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, Protocol

from hardware.simulator.routines import DoorRecord
from hardware.simulators.dahua import DahuaSimulator
from hardware.simulators.hikvision import HikvisionSimulator
from hardware.simulators.zkteco_tcp import TcpTerminal

Vendor = Literal["hikvision", "dahua", "zkteco"]
VENDORS: tuple[Vendor, ...] = ("hikvision", "dahua", "zkteco")
READERS = {"1": "in", "2": "out"}
"""The routines' reader numbers (1 at the entrance, 2 at the exit), as the terminals say them."""


class DoorTerminal(Protocol):
    """A door whose records a simulated terminal keeps."""

    device: str
    vendor: Vendor
    url: str

    def record(self, record: DoorRecord, *, live: bool) -> None:
        """Keep ``record`` in the terminal's log (and send it on its streams when ``live``)."""

    def source_config(self, *, backfill_hours: float) -> dict[str, Any]:
        """The agent's source entry for this door."""

    def stop(self) -> None:
        """Stop serving."""


def _credentials(sim: HikvisionSimulator | DahuaSimulator) -> dict[str, Any]:
    return {"host": sim.host, "port": sim.port, "username": sim.username,
            "password": sim.password, "readers": dict(READERS)}


class HikvisionDoor:
    """A Hikvision face/card terminal (ISAPI alertStream + AcsEvent search)."""

    # (event, credential) → (major, minor) as the terminal logs them
    CODES: ClassVar[dict[tuple[str, str | None], tuple[int, int]]] = {
        ("passage", "face"): (5, 75), ("passage", "card"): (5, 1),
        ("access_denied", "card"): (5, 9), ("door_held_open", None): (5, 28)}

    vendor: Vendor = "hikvision"

    def __init__(self, device: str, zone: str) -> None:
        self.device = device
        self.sim = HikvisionSimulator(zone=zone).start()
        self.url = self.sim.url

    def record(self, record: DoorRecord, *, live: bool) -> None:
        code = self.CODES.get((record.event, record.credential))
        if code is None:
            return  # nothing this terminal would log
        self.sim.add_event(*code, employee=record.person, reader=record.reader,
                           at=record.time, live=live)

    def source_config(self, *, backfill_hours: float) -> dict[str, Any]:
        return {"type": "hikvision-isapi", "device": self.device, "mode": "stream",
                "backfill_hours": backfill_hours, **_credentials(self.sim)}

    def stop(self) -> None:
        self.sim.stop()


class DahuaDoor:
    """A Dahua access terminal (eventManager attach + recordFinder)."""

    METHODS: ClassVar[dict[str, int]] = {"card": 1, "face": 15}

    vendor: Vendor = "dahua"

    def __init__(self, device: str, zone: str) -> None:
        self.device = device
        self.sim = DahuaSimulator(zone=zone).start()
        self.url = self.sim.url

    def record(self, record: DoorRecord, *, live: bool) -> None:
        # Dahua streams every record it makes; before the agent attaches, nobody hears it
        if record.event == "door_held_open":
            if live:
                self.sim.alarm("DoorNotClosed")
            return
        if record.event not in ("passage", "access_denied"):
            return
        self.sim.access(user=record.person, granted=record.event == "passage",
                        method=self.METHODS.get(record.credential or "", 1),
                        entry=None if record.direction is None else record.direction == "in",
                        reader=str(record.reader or 1), utc=int(record.time.timestamp()),
                        card=dict(record.extra).get("card_no", ""))

    def source_config(self, *, backfill_hours: float) -> dict[str, Any]:
        return {"type": "dahua", "device": self.device, "backfill_hours": backfill_hours,
                **_credentials(self.sim)}

    def stop(self) -> None:
        self.sim.stop()


class ZktecoDoor:
    """A ZKTeco face/card terminal on TCP 4370: punches with a state (0 in, 1 out), alarms.

    It logs no refused attempt, and its door alarms exist only live (as the real ones)."""

    VERIFY: ClassVar[dict[str, int]] = {"card": 4, "face": 15}
    ALARM_HELD_OPEN = 0x33
    vendor: Vendor = "zkteco"

    def __init__(self, device: str, zone: str) -> None:
        self.device = device
        self.zone = zone
        self.sim = TcpTerminal(timezone=zone)
        host, port = self.sim.address
        self.url = f"tcp://{host}:{port}"

    def record(self, record: DoorRecord, *, live: bool) -> None:
        if record.event == "door_held_open":
            if live:
                self.sim.alarm(self.ALARM_HELD_OPEN)
            return
        if record.event != "passage" or record.person is None:
            return
        local = record.time.astimezone(self.sim.zone).replace(tzinfo=None, microsecond=0)
        self.sim.punch(record.person, local, state=0 if record.direction == "in" else 1,
                       verify=self.VERIFY.get(record.credential or "", 15), live=live)

    def source_config(self, *, backfill_hours: float) -> dict[str, Any]:
        host, port = self.sim.address
        return {"type": "zkteco-tcp", "device": self.device, "host": host, "port": port,
                "timezone": self.zone, "state_is_direction": True,
                "catchup_first_hours": backfill_hours}

    def stop(self) -> None:
        self.sim.close()


def start_terminal(vendor: Vendor, device: str, zone: str) -> DoorTerminal:
    """A running simulated terminal of ``vendor`` for ``device``."""
    kinds: dict[Vendor, type[HikvisionDoor | DahuaDoor | ZktecoDoor]] = {
        "hikvision": HikvisionDoor, "dahua": DahuaDoor, "zkteco": ZktecoDoor}
    return kinds[vendor](device, zone)
