"""A simulated ZKTeco PUSH (ADMS) terminal: a real HTTP client that talks iclock to the
agent's listener the way a terminal does.

It keeps its records with stamps (1, 2, 3 … per table), shakes hands to learn the server's
stamps (``ATTLOGStamp``/``OPERLOGStamp``), uploads what lies after them in batches
(``POST /iclock/cdata?SN=…&table=ATTLOG&Stamp=<last stamp of the batch>``), moves its stamp
on only when the answer is ``OK``, and sends the same batch again when it is not. For the
tests it can also misbehave: hang up in the middle of an upload, hang up before reading the
answer, send whatever bytes it is given.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import socket
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

__all__ = ["PushTerminal", "UploadRefused"]

TABLES = ("ATTLOG", "OPERLOG")


class UploadRefused(Exception):
    """The server did not acknowledge an upload (or could not be reached)."""


@dataclass
class _Table:
    lines: list[bytes] = field(default_factory=list)
    server_stamp: int = 0
    """The stamp the server confirmed last: records after it are still to be uploaded."""


class PushTerminal:
    """One terminal pointed at ``url`` (the agent's ``listen`` address)."""

    def __init__(self, url: str, serial: str, *, timezone: str = "Asia/Shanghai",
                 batch: int = 100, timeout_s: float = 5.0, pushver: str = "2.4.1",
                 server_path: str = "") -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.serial = serial
        self.zone = ZoneInfo(timezone)
        self.batch = batch
        self.timeout_s = timeout_s
        self.pushver = pushver
        self.server_path = server_path
        """What the installer typed before ``iclock/`` in the terminal's server address:
        X903 firmware configured with ``/adms/`` requests ``/adms//iclock/…``."""
        self.tables = {table: _Table() for table in TABLES}
        self.options: dict[str, str] = {}
        self.posted_lines = 0
        """Lines the server received in uploads, repeats included."""
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ records
    def now(self) -> dt.datetime:
        """The terminal's local time, to the second."""
        return dt.datetime.now(self.zone).replace(tzinfo=None, microsecond=0)

    def punch(self, pin: str, time: dt.datetime | None = None, *, state: int = 0,
              verify: int = 15, workcode: str = "0") -> bytes:
        """Record a punch (an ATTLOG line) to upload."""
        when = (time or self.now()).strftime("%Y-%m-%d %H:%M:%S")
        return self.add_line("ATTLOG", f"{pin}\t{when}\t{state}\t{verify}\t{workcode}\t0\t0")

    def alarm(self, code: int, time: dt.datetime | None = None) -> bytes:
        """Record an alarm (an ``OPLOG 3`` line) to upload."""
        when = (time or self.now()).strftime("%Y-%m-%d %H:%M:%S")
        return self.add_line("OPERLOG", f"OPLOG 3\t0\t{when}\t{code}\t0\t0\t0")

    def add_line(self, table: str, line: str | bytes) -> bytes:
        """Record any line (bytes are sent as they are: GBK, broken UTF-8 …)."""
        raw = line.encode("utf-8") if isinstance(line, str) else line
        with self._lock:
            self.tables[table].lines.append(raw)
        return raw

    def pending(self, table: str = "ATTLOG") -> int:
        """Records not yet acknowledged by the server."""
        with self._lock:
            state = self.tables[table]
            return max(0, len(state.lines) - state.server_stamp)

    # ------------------------------------------------------------------ protocol
    def handshake(self) -> dict[str, str]:
        """``GET /iclock/cdata?options=all``: learn the server's stamps and options."""
        status, text = self.request("GET", "cdata", {"options": "all", "pushver": self.pushver,
                                                     "language": "83"})
        if status != 200:
            raise UploadRefused(f"handshake answered {status}: {text[:80]}")
        options = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
        with self._lock:
            self.options = options
            for table, key in (("ATTLOG", "ATTLOGStamp"), ("OPERLOG", "OPERLOGStamp")):
                value = options.get(key, "None")
                stamp = int(value) if value.isdigit() else 0
                self.tables[table].server_stamp = min(stamp, len(self.tables[table].lines))
        return options

    def upload(self, table: str = "ATTLOG", *, hang_up_before_answer: bool = False) -> int:
        """Upload the next batch after the server's stamp; returns how many lines the
        server acknowledged (0 when nothing was pending). UploadRefused when it did not."""
        with self._lock:
            state = self.tables[table]
            first = state.server_stamp
            lines = state.lines[first:first + self.batch]
        if not lines:
            return 0
        stamp = first + len(lines)
        body = b"\n".join(lines) + b"\n"
        params = {"table": table, ("OpStamp" if table == "OPERLOG" else "Stamp"): str(stamp)}
        if hang_up_before_answer:
            self.post_raw(params, body)
            self.posted_lines += len(lines)
            raise UploadRefused("hung up before the answer")
        status, text = self.request("POST", "cdata", params, body)
        self.posted_lines += len(lines)
        if status != 200 or not text.startswith("OK"):
            raise UploadRefused(f"upload answered {status}: {text[:80]}")
        with self._lock:
            state.server_stamp = max(state.server_stamp, stamp)
        return len(lines)

    def upload_photo(self, pin: str, jpeg: bytes, time: dt.datetime | None = None) -> int:
        """``POST /iclock/cdata?table=ATTPHOTO``: the snapshot a terminal takes at a punch,
        as firmware sends it: ``PIN=<time>-<pin>.jpg``, ``SN``, ``size``, ``CMD=uploadphoto``
        lines, a NUL, then the JPEG bytes. Returns the HTTP status."""
        name = f"{(time or self.now()).strftime('%Y%m%d%H%M%S')}-{pin}.jpg"
        head = f"PIN={name}\nSN={self.serial}\nsize={len(jpeg)}\nCMD=uploadphoto\x00"
        return self.request("POST", "cdata", {"table": "ATTPHOTO", "Stamp": "1"},
                            head.encode() + jpeg)[0]

    def upload_options(self, time_zone: int) -> int:
        """``POST /iclock/cdata?table=options``: the terminal's settings after a handshake,
        ``~Key=value`` pairs separated by commas, its ``TimeZone`` (hours) among them."""
        body = (f"~DeviceName=X903,MAC=00:17:61:00:00:01,TransactionCount=12,"
                f"~MaxAttLogCount=10,UserCount=40,TimeZone={time_zone},"
                f"FWVersion=Ver 8.0.4.2-20201023").encode()
        return self.request("POST", "cdata", {"table": "options"}, body)[0]

    def poll(self, info: str | None = None) -> str:
        """``GET /iclock/getrequest``: the heartbeat; returns the server's answer."""
        params = {"INFO": info} if info else {}
        return self.request("GET", "getrequest", params)[1]

    def sync(self, *, timeout_s: float = 10.0, retry_s: float = 0.05) -> None:
        """Upload everything pending, retrying (with a new handshake) until acknowledged."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                for table in TABLES:
                    while self.upload(table):
                        pass
                return
            except (UploadRefused, OSError) as exc:
                if time.monotonic() > deadline:
                    raise UploadRefused(f"could not upload in {timeout_s}s: {exc}") from exc
                time.sleep(retry_s)
                with contextlib.suppress(UploadRefused, OSError):
                    self.handshake()

    def run(self, stop: threading.Event, *, interval_s: float = 1.0) -> None:
        """Behave like a terminal until ``stop``: shake hands, upload, poll, repeat."""
        shaken = False
        while not stop.is_set():
            try:
                if not shaken:
                    self.handshake()
                    shaken = True
                for table in TABLES:
                    while self.upload(table):
                        pass
                self.poll()
            except (UploadRefused, OSError):
                shaken = False  # terminals shake hands again after an error
            stop.wait(interval_s)

    def request(self, method: str, path: str, params: dict[str, str],
                body: bytes | None = None) -> tuple[int, str]:
        """One HTTP request to ``/iclock/<path>?SN=…&<params>``: (status, body text)."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_s)
        try:
            headers = {"Content-Type": "text/plain", "User-Agent": "iClock Proxy/1.09"}
            connection.request(method, self._target(path, params), body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.read().decode("utf-8", "replace")
        finally:
            connection.close()

    def post_raw(self, params: dict[str, str], body: bytes, *,
                 declared_length: int | None = None, send_bytes: int | None = None) -> None:
        """Send an upload over a bare socket and hang up without reading the answer:
        ``declared_length``/``send_bytes`` make it lie about or cut its body."""
        length = len(body) if declared_length is None else declared_length
        head = (f"POST {self._target('cdata', params)} HTTP/1.1\r\nHost: {self.host}\r\n"
                f"Content-Type: text/plain\r\nContent-Length: {length}\r\n\r\n").encode()
        sent = body if send_bytes is None else body[:send_bytes]
        with socket.create_connection((self.host, self.port), timeout=self.timeout_s) as sock:
            sock.sendall(head + sent)
            if send_bytes is None:
                time.sleep(0.05)  # let the request arrive whole before hanging up

    def _target(self, path: str, params: dict[str, str]) -> str:
        return f"{self.server_path}/iclock/{path}?{urlencode({'SN': self.serial, **params})}"
