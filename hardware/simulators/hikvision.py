"""A simulated Hikvision access terminal speaking ISAPI over a real socket.

- ``GET /ISAPI/Event/notification/alertStream``: ``multipart/mixed;
  boundary=MIME_boundary``; on connect the whole log is replayed with
  ``currentEvent: false`` (as a DS-K1T342MWX does), then live events
  (``currentEvent: true``), an XML ``videoloss`` heartbeat when idle, and — like the real
  device — a ``Content-Length`` a few bytes larger than each JSON body;
- ``POST /ISAPI/AccessControl/AcsEvent?format=json``: the paged log search
  (``searchResultPosition``, ``maxResults`` capped at 30, ``MORE``/``OK``/``NO MATCH``);
- ``GET /ISAPI/System/deviceInfo``;
- HTTP push: ``push(url, record)`` POSTs a record as the terminal's HTTP host
  notification does (``multipart/form-data``, ``event_log`` JSON and a picture), and
  ``push_to`` makes every new event pushed.

Digest authentication throughout. Tests inject events (``add_event``), cut the next part
in the middle (``cut_next_part``), take the device off the network (``set_online``), set
its clock off (``clock_offset_s``) or reset its numbering (``factory_reset``).

``python -m hardware.simulators.hikvision --port 8080`` runs one with random events.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import uuid
from typing import Any

import httpx

from hardware.simulators.http_device import DeviceHandler, SimulatedDevice

__all__ = ["HikvisionSimulator", "main"]

BOUNDARY = "MIME_boundary"
ALERT_STREAM = "/ISAPI/Event/notification/alertStream"
ACS_EVENT = "/ISAPI/AccessControl/AcsEvent"
FAKE_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8 + b"\xff\xd9"
DEMO_CODES = [(5, 75), (5, 75), (5, 75), (5, 1), (5, 76), (5, 21), (5, 22), (5, 23)]


class HikvisionSimulator(SimulatedDevice):
    """One simulated terminal; its log is ``records`` (AcsEvent search items)."""

    realm = "DS-SIM0001"

    def __init__(self, *, replay_history: bool = True, length_lie: int = 3,
                 max_results: int = 30, pictures: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.replay_history = replay_history
        self.length_lie = length_lie
        self.max_results = max_results
        self.pictures = pictures
        self.records: list[dict[str, Any]] = []
        self.searches: list[dict[str, Any]] = []
        self.push_to: tuple[str, tuple[str, str] | None] | None = None
        """(url, digest credentials or None): push every new event there."""
        self.push_failures = 0
        self._serial = 0
        self._cut_next = False

    # -- the device's log ------------------------------------------------------------------

    def add_event(self, major: int, minor: int, *, employee: str | None = None,
                  reader: int | None = None, door: int = 1, at: dt.datetime | None = None,
                  attendance: str | None = None, extra: dict[str, Any] | None = None,
                  live: bool = True) -> dict[str, Any]:
        """Record an event (and send it on the open streams when ``live``)."""
        with self.lock:
            self._serial += 1
            when = (at or self.device_now()).astimezone(self.zone)
            item: dict[str, Any] = {"major": major, "minor": minor,
                                    "time": when.isoformat(timespec="seconds"),
                                    "serialNo": self._serial, "doorNo": door,
                                    "currentVerifyMode": "cardOrFace" if employee else "invalid"}
            if employee is not None:
                item.update(employeeNoString=employee, name="SIMULATED", userType="normal")
            if reader is not None:
                item["cardReaderNo"] = reader
            if attendance is not None:
                item["attendanceStatus"] = attendance
            item.update(extra or {})
            self.records.append(item)
            if live and self.online:
                cut, self._cut_next = self._cut_next, False
                part = self.event_part(item, current=True)
                self.broadcast(part if cut else part + self._picture_for(item), cut=cut)
        if live and self.online and self.push_to is not None:
            try:
                self.push(self.push_to[0], item, auth=self.push_to[1])
            except httpx.HTTPError:
                self.push_failures += 1  # the log keeps it; the agent catches up later
        return item

    def cut_next_part(self) -> None:
        """The next live part is written half-way, then the connection drops."""
        self._cut_next = True

    def factory_reset(self) -> None:
        """Forget the log and restart the serial numbers at 1."""
        with self.lock:
            self.records.clear()
            self._serial = 0

    # -- what goes on the wire -------------------------------------------------------------

    def envelope(self, item: dict[str, Any], *, current: bool) -> dict[str, Any]:
        """The stream/push notification of a log item."""
        inner = {key: value for key, value in item.items() if key not in ("major", "minor",
                                                                         "time")}
        inner.update(deviceName="SIM DOOR", majorEventType=item["major"],
                     subEventType=item["minor"], currentEvent=current,
                     frontSerialNo=item["serialNo"] - 1, attendanceStatus=item.get(
                         "attendanceStatus", "undefined"))
        return {"ipAddress": "192.0.2.10", "portNo": self.port, "protocol": "HTTP",
                "macAddress": "AA:BB:CC:DD:EE:FF", "channelID": 1, "dateTime": item["time"],
                "activePostCount": 1, "eventType": "AccessControllerEvent",
                "eventState": "active", "eventDescription": "Access Controller Event",
                "AccessControllerEvent": inner}

    def event_part(self, item: dict[str, Any], *, current: bool) -> bytes:
        """One stream part (tab-indented JSON, Content-Length overstated like the device)."""
        body = json.dumps(self.envelope(item, current=current), indent="\t").encode()
        head = (f"--{BOUNDARY}\r\nContent-Type: application/json; charset=\"UTF-8\"\r\n"
                f"Content-Length: {len(body) + self.length_lie}\r\n\r\n").encode()
        return head + body + b"\r\n"

    def _picture_for(self, item: dict[str, Any]) -> bytes:
        return self.picture_part() if self.pictures and "employeeNoString" in item else b""

    def picture_part(self) -> bytes:
        """A face-picture part (the agent must drop it)."""
        return (f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                f"Content-Length: {len(FAKE_JPEG)}\r\n\r\n").encode() + FAKE_JPEG + b"\r\n"

    def heartbeat_part(self) -> bytes:
        """The XML part an idle alertStream sends."""
        body = (f'<EventNotificationAlert version="2.0" '
                f'xmlns="http://www.hikvision.com/ver20/XMLSchema">\r\n'
                f"<ipAddress>192.0.2.10</ipAddress>\r\n<portNo>{self.port}</portNo>\r\n"
                f"<protocol>HTTP</protocol>\r\n<channelID>1</channelID>\r\n"
                f"<dateTime>{self.device_now().isoformat(timespec='seconds')}</dateTime>\r\n"
                f"<activePostCount>0</activePostCount>\r\n<eventType>videoloss</eventType>\r\n"
                f"<eventState>inactive</eventState>\r\n"
                f"<eventDescription>videoloss alarm</eventDescription>\r\n"
                f"</EventNotificationAlert>").encode()
        return (f"--{BOUNDARY}\r\nContent-Type: application/xml; charset=\"UTF-8\"\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode() + body + b"\r\n"

    # -- requests --------------------------------------------------------------------------

    def answer(self, handler: DeviceHandler) -> None:
        """Route one authenticated ISAPI request."""
        if handler.route == ALERT_STREAM and handler.command == "GET":
            self.serve_stream(handler, f"multipart/mixed; boundary={BOUNDARY}",
                              self._history, self.heartbeat_part)
        elif handler.route == ACS_EVENT and handler.command == "POST":
            self._search(handler)
        elif handler.route == "/ISAPI/System/deviceInfo":
            handler.reply(200, b'<?xml version="1.0" encoding="UTF-8"?><DeviceInfo><deviceName>'
                               b"SIM DOOR</deviceName><model>DS-K1T342MWX</model>"
                               b"<serialNumber>SIM0001</serialNumber></DeviceInfo>",
                          "application/xml")
        else:
            handler.reply(404, _status(4, "Invalid Operation", "notSupport"), "application/json")

    def _history(self) -> list[bytes]:
        if not self.replay_history:
            return []
        return [self.event_part(item, current=False) + self._picture_for(item)
                for item in self.records]

    def _search(self, handler: DeviceHandler) -> None:
        try:
            condition = json.loads(handler.request_body)["AcsEventCond"]
            start = dt.datetime.fromisoformat(condition["startTime"])
            end = dt.datetime.fromisoformat(condition["endTime"])
            position = int(condition.get("searchResultPosition", 0))
            limit = min(int(condition.get("maxResults", self.max_results)), self.max_results)
            major, minor = int(condition.get("major", 0)), int(condition.get("minor", 0))
        except (ValueError, KeyError, TypeError):
            handler.reply(400, _status(6, "Invalid Content", "badJsonContent"), "application/json")
            return
        self.searches.append(condition)
        with self.lock:
            found = [item for item in self.records
                     if start <= dt.datetime.fromisoformat(item["time"]) <= end
                     and major in (0, item["major"]) and minor in (0, item["minor"])]
        page = found[position:position + limit]
        status = ("NO MATCH" if not found else
                  "MORE" if position + len(page) < len(found) else "OK")
        answer: dict[str, Any] = {"searchID": condition.get("searchID", ""),
                                  "responseStatusStrg": status, "numOfMatches": len(page),
                                  "totalMatches": len(found)}
        if page:
            answer["InfoList"] = page
        handler.reply(200, json.dumps({"AcsEvent": answer}, indent="\t").encode(),
                      "application/json; charset=\"UTF-8\"")

    # -- HTTP push -------------------------------------------------------------------------

    def push(self, url: str, item: dict[str, Any], *, auth: tuple[str, str] | None = None,
             as_json: bool = False, picture: bool = True, timeout: float = 5.0) -> int:
        """POST one event the way the terminal's HTTP host notification does; the status."""
        envelope = json.dumps(self.envelope(item, current=True), indent="\t").encode()
        if as_json:
            return self._post(url, envelope, "application/json", auth, timeout)
        boundary = f"----linli{uuid.uuid4().hex}"
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"event_log\"\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(envelope)}\r\n\r\n"
                ).encode() + envelope + b"\r\n"
        if picture:
            body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"Picture\"; "
                     f"filename=\"Picture.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
                     ).encode() + FAKE_JPEG + b"\r\n"
        body += f"--{boundary}--\r\n".encode()
        return self._post(url, body, f"multipart/form-data; boundary={boundary}", auth, timeout)

    def push_heartbeat(self, url: str, *, auth: tuple[str, str] | None = None) -> int:
        """POST a heartbeat notification."""
        body = json.dumps({"ipAddress": "192.0.2.10", "eventType": "heartBeat",
                           "dateTime": self.device_now().isoformat(timespec="seconds"),
                           "eventState": "active", "eventDescription": "heartBeat"}).encode()
        return self._post(url, body, "application/json", auth, 5.0)

    @staticmethod
    def _post(url: str, body: bytes, content_type: str, auth: tuple[str, str] | None,
              timeout: float) -> int:
        digest = httpx.DigestAuth(*auth) if auth else None
        with httpx.Client(auth=digest, timeout=timeout) as client:
            return client.post(url, content=body, headers={"Content-Type": content_type}
                               ).status_code


def _status(code: int, text: str, sub: str) -> bytes:
    return json.dumps({"statusCode": code, "statusString": text, "subStatusCode": sub}).encode()


def main(argv: list[str] | None = None) -> int:
    """Run a simulated terminal with random events until SIGINT or SIGTERM."""
    from linli.runtime import install_stop_handlers

    parser = argparse.ArgumentParser(prog="python -m hardware.simulators.hikvision",
                                     description="A simulated Hikvision ISAPI terminal.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password", default="sim-Passw0rd")
    parser.add_argument("--heartbeat", type=float, default=10.0, help="seconds")
    parser.add_argument("--every", type=float, default=5.0,
                        help="seconds between random events (0: none)")
    parser.add_argument("--push", metavar="URL", help="also push every event to URL")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    sim = HikvisionSimulator(host=args.host, port=args.port, username=args.username,
                             password=args.password, heartbeat_s=args.heartbeat)
    if args.push:
        sim.push_to = (args.push, None)
    sim.start()
    print(f"Hikvision simulator on {sim.url} (user {args.username})", flush=True)
    stop, rnd = install_stop_handlers(), random.Random(args.seed)
    while not stop.wait(args.every if args.every > 0 else 3600):
        major, minor = rnd.choice(DEMO_CODES)
        person = f"r-{rnd.randint(1, 20):04d}" if minor in (1, 75, 76) else None
        try:
            sim.add_event(major, minor, employee=person, reader=rnd.choice((1, 2)))
        except httpx.HTTPError as exc:
            print(f"push failed: {exc}", flush=True)
    sim.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
