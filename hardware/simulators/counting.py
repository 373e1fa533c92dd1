"""Simulated people-counting cameras (Hikvision, Dahua) speaking their real protocols over
a real socket, with the digest authentication, clock and streams of ``http_device``.

- ``HikvisionCountingCamera``: ``GET /ISAPI/Event/notification/alertStream``
  (``multipart/mixed; boundary=MIME_boundary``): an XML ``EventNotificationAlert`` with
  ``eventType`` ``PeopleCounting`` — ``realTime`` running totals on every crossing, or a
  ``timeRange`` window (``send_window``) — and a ``videoloss`` heartbeat when idle; and
  ``POST /ISAPI/System/Video/inputs/channels/<id>/counting/search``: the statistics it
  keeps of every crossing, also while offline, as a ``CountingStatisticsResult`` of
  hourly slots (``reportType`` ``daily``);
- ``DahuaCountingCamera``: ``GET /cgi-bin/videoStatServer.cgi?action=attach&channel=N
  &heartbeat=S`` (``multipart/x-mixed-replace; boundary=myboundary``): the ``summary.*``
  lines when the stream opens and on every change, ``Heartbeat`` when idle; and
  ``action=getSummary``; and ``GET /cgi-bin/eventManager.cgi?action=attach
  &codes=[NumberStat,...]&heartbeat=S``: a ``Code=NumberStat;action=Pulse;index=0;data={...}``
  part (``EnteredNumber``, ``ExitedNumber``, ``Number``) on every change, for the attached
  codes only (``emit`` sends any other code, e.g. ``ManNumDetection``).

Tests make people pass (``walk``, at the device's now or at a given device time; the
counters of the day restart at the device's local midnight, as the cameras' do), reset
the counters as a reboot or a clear by hand does (``reset``), re-send the last report
(``resend``) and take the camera off the network (``set_online``) while people keep
passing.

``python -m hardware.simulators.counting hikvision --port 8082`` runs one with random
passers-by.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

from hardware.simulators.http_device import DeviceHandler, SimulatedDevice

__all__ = ["DahuaCountingCamera", "HikvisionCountingCamera", "main"]

ALERT_STREAM = "/ISAPI/Event/notification/alertStream"
VIDEO_STAT = "/cgi-bin/videoStatServer.cgi"
EVENT_MANAGER = "/cgi-bin/eventManager.cgi"
COUNTING_SEARCH = re.compile(r"^/ISAPI/System/Video/inputs/channels/(\d+)/counting/search$")


class _Counting(SimulatedDevice):
    """Running totals the camera keeps, and how a report of them goes on the wire."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.entered = 0
        self.exited = 0
        self.entered_today = 0
        self.exited_today = 0
        self.reports = 0
        self.crossings: list[tuple[dt.datetime, int, int]] = []
        self.last_at = self.device_now()
        self._day = self.last_at.date()

    def walk(self, entered: int = 0, exited: int = 0, *, at: dt.datetime | None = None) -> None:
        """People pass (at the device's now, or at device time ``at``); a live camera
        reports the new totals (one report per call)."""
        with self.lock:
            when = (at or self.device_now()).astimezone(self.zone)
            if when.date() != self._day:  # the camera's counters of the day restart
                self.entered_today = self.exited_today = 0
                self._day = when.date()
            self.last_at = when
            self.crossings.append((when, entered, exited))
            self.entered += entered
            self.exited += exited
            self.entered_today += entered
            self.exited_today += exited
            if self.online:
                self.reports += 1
                self.report()

    def reset(self, *, report: bool = False) -> None:
        """The counters go back to zero (midnight, a reboot, cleared by hand)."""
        with self.lock:
            self.entered = self.exited = self.entered_today = self.exited_today = 0
            if report and self.online:
                self.report()

    def resend(self) -> None:
        """Send the last report again, unchanged."""
        with self.lock:
            self.report(retransmitted=True)

    def report(self, *, retransmitted: bool = False) -> None:
        """Send the totals on the open streams."""
        self.broadcast(self.report_part(retransmitted=retransmitted))

    def report_part(self, *, retransmitted: bool = False) -> bytes:
        """The totals as one stream part."""
        raise NotImplementedError


class HikvisionCountingCamera(_Counting):
    """A Hikvision counting camera (e.g. iDS-2CD6810F/C, DS-2CD6825G0/C-IVS)."""

    realm = "DS-2CD6825G0"

    def __init__(self, *, channel: int = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.channel = channel
        self.searches: list[str] = []

    def _alert(self, counting: str, *, retransmitted: bool = False) -> bytes:
        now = self.device_now().isoformat(timespec="seconds")
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\r\n'
            '<EventNotificationAlert version="2.0" '
            'xmlns="http://www.hikvision.com/ver20/XMLSchema">\r\n'
            "<ipAddress>192.0.2.64</ipAddress>\r\n<portNo>80</portNo>\r\n"
            "<protocol>HTTP</protocol>\r\n<macAddress>44:47:cc:50:00:c1</macAddress>\r\n"
            f"<channelID>{self.channel}</channelID>\r\n<dateTime>{now}</dateTime>\r\n"
            "<activePostCount>1</activePostCount>\r\n<eventType>PeopleCounting</eventType>\r\n"
            "<eventState>active</eventState>\r\n"
            "<eventDescription>peopleCounting alarm</eventDescription>\r\n"
            f"<channelName>Camera 01</channelName>\r\n<peopleCounting>\r\n{counting}"
            "</peopleCounting>\r\n<childCounting>\r\n<enter>0</enter>\r\n<exit>0</exit>\r\n"
            "</childCounting>\r\n"
            f"<isDataRetransmission>{str(retransmitted).lower()}</isDataRetransmission>\r\n"
            "</EventNotificationAlert>\r\n").encode()
        return (f"--MIME_boundary\r\nContent-Type: application/xml; charset=\"UTF-8\"\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode() + body + b"\r\n"

    def report_part(self, *, retransmitted: bool = False) -> bytes:
        """A ``realTime`` report of the running totals (timed at the last crossing)."""
        now = self.last_at.isoformat(timespec="seconds")
        return self._alert(
            "<statisticalMethods>realTime</statisticalMethods>\r\n"
            f"<RealTime>\r\n<time>{now}</time>\r\n</RealTime>\r\n"
            f"<enter>{self.entered_today}</enter>\r\n<exit>{self.exited_today}</exit>\r\n"
            "<pass>0</pass>\r\n<countingSceneMode>entrance</countingSceneMode>\r\n",
            retransmitted=retransmitted)

    def send_window(self, start: dt.datetime, end: dt.datetime, entered: int,
                    exited: int) -> None:
        """A ``timeRange`` report: the totals of one upload cycle."""
        part = self._alert(
            "<statisticalMethods>timeRange</statisticalMethods>\r\n"
            f"<TimeRange>\r\n<startTime>{start.astimezone(self.zone).isoformat()}</startTime>"
            f"\r\n<endTime>{end.astimezone(self.zone).isoformat()}</endTime>\r\n"
            f"</TimeRange>\r\n<enter>{entered}</enter>\r\n<exit>{exited}</exit>\r\n")
        self.broadcast(part)

    def _heartbeat(self) -> bytes:
        now = self.device_now().isoformat(timespec="seconds")
        body = ('<EventNotificationAlert version="2.0" '
                'xmlns="http://www.hikvision.com/ver20/XMLSchema">'
                f"<ipAddress>192.0.2.64</ipAddress><channelID>1</channelID>"
                f"<dateTime>{now}</dateTime><activePostCount>0</activePostCount>"
                "<eventType>videoloss</eventType><eventState>inactive</eventState>"
                "<eventDescription>videoloss alarm</eventDescription>"
                "</EventNotificationAlert>").encode()
        return (f"--MIME_boundary\r\nContent-Type: application/xml; charset=\"UTF-8\"\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode() + body + b"\r\n"

    def answer(self, handler: DeviceHandler) -> None:
        """The alert stream and the device's identity."""
        if handler.route == ALERT_STREAM:
            self.serve_stream(handler, "multipart/mixed; boundary=MIME_boundary",
                              lambda: [], self._heartbeat)
        elif (found := COUNTING_SEARCH.match(handler.route)) and handler.command == "POST":
            self._search(handler, int(found.group(1)))
        elif handler.route == "/ISAPI/System/deviceInfo":
            handler.reply(200, b"<DeviceInfo><model>DS-2CD6825G0/C-IVS</model></DeviceInfo>",
                          "application/xml")
        else:
            handler.reply(404, b"<ResponseStatus><statusCode>4</statusCode></ResponseStatus>",
                          "application/xml")


    def _search(self, handler: DeviceHandler, channel: int) -> None:
        """The statistics of the asked day(s), in hourly slots."""
        self.searches.append(handler.request_body.decode(errors="replace"))
        try:
            root = ET.fromstring(handler.request_body)
            spans = [(dt.datetime.fromisoformat(_text(s, "startTime")),
                      dt.datetime.fromisoformat(_text(s, "endTime")))
                     for s in root.iter() if _local(s.tag) == "timeSpan"]
            report = next((e.text or "" for e in root.iter() if _local(e.tag) == "reportType"),
                          "")
        except (ET.ParseError, ValueError, TypeError):
            spans, report = [], ""
        if channel != self.channel or not spans or report != "daily":
            handler.reply(400, _status(6, "Invalid XML Content", "badParameters"),
                          "application/xml")
            return
        elements = []
        for start, end in spans:
            hour = start.replace(minute=0, second=0, microsecond=0, tzinfo=self.zone)
            last = end.replace(tzinfo=self.zone)
            while hour <= last:
                close = hour + dt.timedelta(minutes=59, seconds=59)
                with self.lock:
                    inside = [(e, x) for when, e, x in self.crossings if hour <= when <= close]
                elements.append(
                    "<matchElement>\r\n<timeSpan>\r\n"
                    f"<startTime>{hour.replace(tzinfo=None).isoformat()}</startTime>\r\n"
                    f"<endTime>{close.replace(tzinfo=None).isoformat()}</endTime>\r\n"
                    "</timeSpan>\r\n"
                    f"<enterCount>{sum(e for e, _ in inside)}</enterCount>\r\n"
                    f"<exitCount>{sum(x for _, x in inside)}</exitCount>\r\n"
                    "</matchElement>\r\n")
                hour += dt.timedelta(hours=1)
        body = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
                '<CountingStatisticsResult version="2.0" '
                'xmlns="http://www.hikvision.com/ver20/XMLSchema">\r\n'
                "<responseStatus>OK</responseStatus>\r\n"
                "<responseStatusStrg>OK</responseStatusStrg>\r\n"
                f"<matchList>\r\n{''.join(elements)}</matchList>\r\n"
                "</CountingStatisticsResult>\r\n")
        handler.reply(200, body.encode(), "application/xml")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _text(element: ET.Element, name: str) -> str:
    child = next((c for c in element if _local(c.tag) == name), None)
    return "" if child is None else (child.text or "").strip()


def _status(code: int, text: str, sub: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?>\r\n<ResponseStatus version="2.0" '
            'xmlns="http://www.hikvision.com/ver20/XMLSchema">\r\n'
            f"<statusCode>{code}</statusCode>\r\n<statusString>{text}</statusString>\r\n"
            f"<subStatusCode>{sub}</subStatusCode>\r\n</ResponseStatus>\r\n").encode()


class DahuaCountingCamera(_Counting):
    """A Dahua counting camera (e.g. IPC-HDW8341X-3D, IPC-HF5442F-E-PC)."""

    realm = "Login to SIMDAHUACAM"

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("heartbeat_s", 5.0)
        super().__init__(**kwargs)
        self.summaries = 0
        self.event_id = 0
        self.event_attaches = 0
        """eventManager streams opened so far (counted once the stream takes events)."""
        self._stat_streams: set[object] = set()
        self._event_streams: dict[object, set[str]] = {}

    def summary(self) -> bytes:
        """The ``summary.*`` lines."""
        with self.lock:
            lines = [
                "summary.Channel=0", "summary.RuleName=NumberStat",
                "summary.EnteredSubtotal.Hour=0",
                f"summary.EnteredSubtotal.Today={self.entered_today}",
                f"summary.EnteredSubtotal.Total={self.entered}",
                "summary.EnteredSubtotal.TotalInTimeSection=0",
                "summary.ExitedSubtotal.Hour=0",
                f"summary.ExitedSubtotal.Today={self.exited_today}",
                f"summary.ExitedSubtotal.Total={self.exited}",
                "summary.ExitedSubtotal.TotalInTimeSection=0",
                f"summary.InsideSubtotal.Total={max(0, self.entered - self.exited)}",
                f"summary.UTC={int(self.device_now().timestamp())}",
            ]
        return ("\r\n".join(lines) + "\r\n").encode()

    @staticmethod
    def part(body: bytes) -> bytes:
        """One stream part around ``body``."""
        return (f"--myboundary\r\nContent-Type: text/plain\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode() + body + b"\r\n"

    def report_part(self, *, retransmitted: bool = False) -> bytes:
        """The summary as a stream part."""
        return self.part(self.summary())

    def report(self, *, retransmitted: bool = False) -> None:
        """The summary on the ``videoStatServer`` streams, ``NumberStat`` on the
        ``eventManager`` ones."""
        with self.lock:
            summary = self.report_part()
            for key in list(self._stat_streams):
                self.send_to(key, summary)
            now = self.device_now()
            self.event_id += 1
            self.emit("NumberStat", {
                "AreaID": 0, "Class": "NumberStat", "EnteredNumber": self.entered,
                "EventID": self.event_id, "ExitedNumber": self.exited,
                "LocaleTime": now.strftime("%Y-%m-%d %H:%M:%S"), "Name": "NumberStat",
                "Number": max(0, self.entered - self.exited), "PTS": 43380319830.0,
                "RuleID": 1, "Type": "", "UTC": int(now.timestamp())})

    def emit(self, code: str, data: dict[str, Any], index: int = 0, *,
             action: str = "Pulse") -> None:
        """One event on the ``eventManager`` streams attached to ``code``, its data JSON
        spread over lines as the devices write it."""
        body = f"Code={code};action={action};index={index};data=" + json.dumps(data, indent=3)
        part = self.part(body.encode())
        with self.lock:
            if not self.online:
                return
            for key, codes in list(self._event_streams.items()):
                if code in codes or "All" in codes:
                    self.send_to(key, part)

    def answer(self, handler: DeviceHandler) -> None:
        """``videoStatServer.cgi`` (attach, getSummary) and ``eventManager.cgi`` (attach)."""
        query = handler.query
        beat = float(query.get("heartbeat", "0") or 0)
        beat = beat if beat > 0 else 3600.0
        if handler.route == EVENT_MANAGER and query.get("action") == "attach":
            codes = set(query.get("codes", "[All]").strip("[]").split(","))
            self._serve(handler, self._event_streams, codes, self._event_stream_open, beat)
        elif handler.route != VIDEO_STAT:
            handler.reply(400, b"Error\r\nBad Request!\r\n")
        elif query.get("action") == "attach":
            self._serve(handler, None, set(), lambda: [self.report_part()], beat)
        elif query.get("action") == "getSummary":
            self.summaries += 1
            handler.reply(200, self.summary())
        else:
            handler.reply(400, b"Error\r\nBad Request!\r\n")

    def _event_stream_open(self) -> list[bytes]:
        self.event_attaches += 1  # called under the lock, once the stream is registered
        return []

    def _serve(self, handler: DeviceHandler, events: dict[object, set[str]] | None,
               codes: set[str], opening: Callable[[], list[bytes]], beat: float) -> None:
        key = id(handler)
        with self.lock:
            if events is None:
                self._stat_streams.add(key)
            else:
                events[key] = codes
        try:
            self.serve_stream(handler, "multipart/x-mixed-replace; boundary=myboundary",
                              opening, lambda: self.part(b"Heartbeat"),
                              heartbeat_s=beat, stream_key=key)
        finally:
            with self.lock:
                self._stat_streams.discard(key)
                self._event_streams.pop(key, None)


def main(argv: list[str] | None = None) -> int:
    """Run a simulated counting camera with random passers-by until SIGINT or SIGTERM."""
    from linli.runtime import install_stop_handlers

    parser = argparse.ArgumentParser(prog="python -m hardware.simulators.counting",
                                     description="A simulated people-counting camera.")
    parser.add_argument("vendor", choices=("hikvision", "dahua"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8082)
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password", default="sim-Passw0rd")
    parser.add_argument("--every", type=float, default=5.0, help="seconds between passers-by")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    kind = HikvisionCountingCamera if args.vendor == "hikvision" else DahuaCountingCamera
    sim = kind(host=args.host, port=args.port, username=args.username,
               password=args.password).start()
    print(f"{args.vendor} counting camera on {sim.url} (user {args.username})", flush=True)
    stop, rnd = install_stop_handlers(), random.Random(args.seed)
    while not stop.wait(args.every if args.every > 0 else 3600):
        sim.walk(entered=int(rnd.random() < 0.5), exited=int(rnd.random() < 0.5))
    sim.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
