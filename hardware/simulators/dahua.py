"""A simulated Dahua access terminal speaking its HTTP CGI over a real socket.

- ``GET /cgi-bin/eventManager.cgi?action=attach&codes=[AccessControl,...]&heartbeat=N``:
  ``multipart/x-mixed-replace; boundary=myboundary``, one ``text/plain`` part per event
  (``Code=AccessControl;action=Pulse;index=0;data={...}``, the JSON spread over lines as
  the devices write it) for the attached codes only, and ``Heartbeat`` every N seconds;
- ``GET /cgi-bin/recordFinder.cgi?action=find&name=AccessControlCardRec&StartTime=..
  &EndTime=..&count=N``: ``found=`` and ``records[i].Field=`` lines, oldest first, at most
  ``count`` (and at most ``max_count``);
- ``GET /cgi-bin/magicBox.cgi?action=getSystemInfo``.

Digest authentication throughout. Tests record door events (``access``, ``door_status``,
``alarm``), cut the next part in the middle (``cut_next_part``), take the device off the
network (``set_online``) or set its clock off (``clock_offset_s``).

``python -m hardware.simulators.dahua --port 8081`` runs one with random events.
"""

from __future__ import annotations

import argparse
import json
import random
from typing import Any

from hardware.simulators.http_device import DeviceHandler, SimulatedDevice

__all__ = ["DahuaSimulator", "main"]

BOUNDARY = "myboundary"
EVENT_MANAGER = "/cgi-bin/eventManager.cgi"
RECORD_FINDER = "/cgi-bin/recordFinder.cgi"


class DahuaSimulator(SimulatedDevice):
    """One simulated terminal; ``records`` is its AccessControlCardRec log."""

    realm = "Login to SIMDAHUA01"

    def __init__(self, *, max_count: int = 1024, **kwargs: Any) -> None:
        kwargs.setdefault("heartbeat_s", 5.0)
        super().__init__(**kwargs)
        self.max_count = max_count
        self.records: list[dict[str, Any]] = []
        self.finds: list[dict[str, str]] = []
        self._rec_no = 0
        self._cut_next = False
        self._attached: dict[int, set[str]] = {}

    # -- what happens at the door ----------------------------------------------------------

    def access(self, *, user: str | None = "", granted: bool = True, method: int = 1,
               entry: bool | None = True, reader: str = "1", door: int = 0,
               utc: int | None = None, card: str = "") -> dict[str, Any]:
        """Someone presents a credential (or presses the button, ``method=5``)."""
        with self.lock:
            self._rec_no += 1
            created = utc if utc is not None else int(self.device_now().timestamp())
            record: dict[str, Any] = {
                "RecNo": self._rec_no, "CreateTime": created, "CardNo": card,
                "UserID": user or "", "Status": 1 if granted else 0, "Method": method,
                "Door": door, "ReaderID": reader, "ErrorCode": 0 if granted else 16,
            }
            if entry is not None:
                record["Type"] = "Entry" if entry else "Exit"
            self.records.append(record)
            data = {"Name": "OpenDoor", **{k: v for k, v in record.items()
                                           if k != "CreateTime"}, "UTC": created}
            self.emit("AccessControl", data, door)
        return record

    def door_face(self, user: str, *, door: int = 0, reader: int = 1,
                  similarity: int = 98) -> None:
        """A face terminal's match on its own, as ASI firmware sends it: ``_DoorFace_``
        with no time field, the reader as ``readID`` (before the AccessControl event)."""
        self.emit("_DoorFace_", {"Alive": 100, "Door": door, "FeatureId": 1,
                                 "OpenDoorMethod": 3, "Similarity": similarity,
                                 "SnapPath": "/var/tmp/partsnap7.jpg", "UserID": user,
                                 "readID": reader}, door)

    def door_card(self, number: str, *, door: int = 0) -> None:
        """A card swiped at a door station's reader: ``DoorCard`` with the number as
        ``Number`` (VTO firmware), its own ``UTC`` and ``LocaleTime``."""
        now = self.device_now()
        self.emit("DoorCard", {"Check": [0, 0], "LocaleTime": now.strftime("%Y-%m-%d %H:%M:%S"),
                               "Number": number, "Type": 0, "UTC": int(now.timestamp())}, door)

    def door_status(self, opened: bool, *, door: int = 0) -> None:
        """The door contact reports open or closed."""
        self.emit("DoorStatus", {"Status": "Open" if opened else "Close",
                                 "UTC": int(self.device_now().timestamp())}, door)

    def alarm(self, code: str, *, action: str = "Start", door: int = 0) -> None:
        """An alarm event (``BreakIn``, ``DoorNotClosed``, ``AlarmLocal`` …)."""
        self.emit(code, {"Name": f"Door{door + 1}", "UTC": int(self.device_now().timestamp())},
                  door, action=action)

    def emit(self, code: str, data: dict[str, Any] | None, index: int = 0, *,
             action: str = "Pulse") -> None:
        """Send one event on the streams attached to ``code``."""
        body = f"Code={code};action={action};index={index}"
        if data is not None:
            body += ";data=" + json.dumps(data, indent=3, ensure_ascii=False)
        self.send_body(body.encode(), code=code)

    def send_body(self, body: bytes, *, code: str | None = None) -> None:
        """Send a raw part body (hostile tests write anything here)."""
        part = self.part(body)
        with self.lock:
            if not self.online:
                return
            cut, self._cut_next = self._cut_next, False
            for stream_id, codes in list(self._attached.items()):
                if code is None or code in codes or "All" in codes:
                    self.send_to(stream_id, part, cut=cut)

    def cut_next_part(self) -> None:
        """The next part is written half-way, then the connection drops."""
        self._cut_next = True

    @staticmethod
    def part(body: bytes) -> bytes:
        """One stream part around ``body``."""
        return (f"--{BOUNDARY}\r\nContent-Type: text/plain\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode() + body + b"\r\n\r\n"

    # -- requests --------------------------------------------------------------------------

    def answer(self, handler: DeviceHandler) -> None:
        """Route one authenticated CGI request."""
        query = handler.query
        if handler.route == EVENT_MANAGER and query.get("action") == "attach":
            self._attach(handler, query)
        elif handler.route == RECORD_FINDER and query.get("action") == "find":
            self._find(handler, query)
        elif handler.route == "/cgi-bin/magicBox.cgi":
            handler.reply(200, b"deviceType=ASI7213X\r\nserialNumber=SIMDAHUA01\r\n")
        else:
            handler.reply(400, b"Error\r\nBad Request!\r\n")

    def _attach(self, handler: DeviceHandler, query: dict[str, str]) -> None:
        codes = set(query.get("codes", "[All]").strip("[]").split(","))
        beat = float(query.get("heartbeat", "0") or 0)
        stream_id = id(handler)
        with self.lock:
            self._attached[stream_id] = codes
        try:
            self.serve_stream(handler, f"multipart/x-mixed-replace; boundary={BOUNDARY}",
                              lambda: [], lambda: self.part(b"Heartbeat"),
                              heartbeat_s=beat if beat > 0 else 3600.0,
                              stream_key=stream_id)
        finally:
            with self.lock:
                self._attached.pop(stream_id, None)

    def _find(self, handler: DeviceHandler, query: dict[str, str]) -> None:
        self.finds.append(query)
        if query.get("name") != "AccessControlCardRec":
            handler.reply(200, b"Error\r\nBad Request!\r\n")
            return
        try:
            start, end = int(query["StartTime"]), int(query["EndTime"])
            count = min(int(query.get("count", self.max_count)), self.max_count)
        except (KeyError, ValueError):
            handler.reply(200, b"Error\r\nBad Request!\r\n")
            return
        with self.lock:
            found = [r for r in self.records if start <= r["CreateTime"] <= end][:count]
        lines = [f"found={len(found)}"]
        for i, record in enumerate(found):
            lines += [f"records[{i}].{key}={value}" for key, value in record.items()]
        handler.reply(200, ("\r\n".join(lines) + "\r\n").encode())


def main(argv: list[str] | None = None) -> int:
    """Run a simulated terminal with random events until SIGINT or SIGTERM."""
    from linli.runtime import install_stop_handlers

    parser = argparse.ArgumentParser(prog="python -m hardware.simulators.dahua",
                                     description="A simulated Dahua access terminal.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password", default="sim-Passw0rd")
    parser.add_argument("--every", type=float, default=5.0,
                        help="seconds between random events (0: none)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    sim = DahuaSimulator(host=args.host, port=args.port, username=args.username,
                         password=args.password).start()
    print(f"Dahua simulator on {sim.url} (user {args.username})", flush=True)
    stop, rnd = install_stop_handlers(), random.Random(args.seed)
    while not stop.wait(args.every if args.every > 0 else 3600):
        if rnd.random() < 0.8:
            sim.access(user=f"r-{rnd.randint(1, 20):04d}", granted=rnd.random() < 0.9,
                       method=rnd.choice((1, 15)), entry=rnd.random() < 0.5)
        else:
            sim.door_status(rnd.random() < 0.5)
    sim.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
