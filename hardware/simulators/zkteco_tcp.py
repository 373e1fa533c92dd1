"""A simulated ZKTeco terminal on TCP (the classic port 4370 protocol), serving the agent.

It answers what the agent asks — ``CMD_CONNECT`` (``CMD_ACK_UNAUTH`` until ``CMD_AUTH``
brings the right comm key, when one is set), ``CMD_REG_EVENT``, ``CMD_GET_TIME`` (its clock
may be set off), ``CMD_OPTIONS_RRQ ~SerialNumber``, enable/disable, and the attendance log
through ``CMD_DATA_WRRQ``/``CMD_DATA_RDY``/``CMD_FREE_DATA`` in chunks — and sends real-time
attendance and alarm packets to the clients that registered for them. Every punch is kept
in its attendance log, whether a client saw it live or not, so a client that reconnects can
catch up. The test can drop connections, refuse new ones (an outage), and send raw bytes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import socket
import socketserver
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from edge.zkteco.layouts import (
    encode_alarm,
    encode_attlog_buffer,
    encode_live_punch,
    encode_time32,
)
from edge.zkteco.protocol import Command, EventFlag, FrameReader, Packet, commkey, encode
from edge.zkteco.records import Punch, ZkError

__all__ = ["C3Panel", "TcpTerminal", "c3_packet"]

SMALL_SET_BYTES = 1024
"""Data sets up to this size are sent at once (``CMD_DATA``), larger ones in chunks."""
DATA_PACKET_BYTES = 1024
"""A chunk is sent in ``CMD_DATA`` packets of at most this size."""


@dataclass
class _Client:
    sock: socket.socket
    session: int
    authed: bool = False
    flags: int = 0
    buffer: bytes = b""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, data: bytes) -> None:
        with self.lock:
            self.sock.sendall(data)


class TcpTerminal:
    """A terminal listening on ``(host, port)``; port 0 picks a free one."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, serial: str = "ZKSIM0001",
                 comm_key: int = 0, timezone: str = "Asia/Shanghai",
                 clock_offset_s: float = 0.0, numeric_ids: bool = False) -> None:
        self.serial = serial
        self.comm_key = comm_key
        self.zone = ZoneInfo(timezone)
        self.clock_offset_s = clock_offset_s
        self.numeric_ids = numeric_ids
        self.log: list[tuple[int, Punch]] = []
        self.refusing = False
        """An outage: new connections are closed at once (punches still go to the log)."""
        self.counts = dict.fromkeys(("connects", "refused_auth", "event_acks", "log_reads",
                                     "disabled"), 0)
        self._clients: list[_Client] = []
        self._lock = threading.Lock()
        self._sessions = itertools.count(0x4C01)
        terminal = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                terminal._serve(self.request)

        self._server = socketserver.ThreadingTCPServer((host, port), Handler,
                                                       bind_and_activate=False)
        self._server.daemon_threads = True
        self._server.allow_reuse_address = True
        self._server.server_bind()
        self._server.server_activate()
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()

    @property
    def address(self) -> tuple[str, int]:
        """Where the terminal listens."""
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def now(self) -> dt.datetime:
        """The terminal's clock (local, naive, to the second), offset included."""
        return (dt.datetime.now(self.zone).replace(tzinfo=None, microsecond=0)
                + dt.timedelta(seconds=self.clock_offset_s))

    def punch(self, pin: str, time: dt.datetime | None = None, *, state: int = 0,
              verify: int = 15, live: bool = True) -> Punch:
        """Record a punch in the log and, when ``live``, send it to registered clients."""
        punch = Punch(pin=pin, time=time or self.now(), state=state, verify=verify,
                      origin="log")
        with self._lock:
            self.log.append((len(self.log) + 1, punch))
        if live:
            self.send_event(EventFlag.ATTLOG,
                            encode_live_punch(punch, numeric=self.numeric_ids))
        return punch

    def alarm(self, code: int, user_sn: int | None = None) -> None:
        """Raise an alarm: a real-time ``EF_ALARM`` packet to registered clients."""
        self.send_event(EventFlag.ALARM, encode_alarm(code, user_sn))

    def send_event(self, event: int, data: bytes) -> int:
        """Send a real-time packet to the clients registered for ``event``; how many."""
        sent = 0
        for client in self.clients():
            if client.flags & event:
                self._try_send(client, encode(Command.REG_EVENT, event, 0, data))
                sent += 1
        return sent

    def send_raw(self, data: bytes) -> None:
        """Send bytes as they are to every connected client (malformed packets)."""
        for client in self.clients():
            self._try_send(client, data)

    def clients(self) -> list[_Client]:
        """The connected clients."""
        with self._lock:
            return list(self._clients)

    def registered(self) -> bool:
        """Whether a client registered for real-time attendance events."""
        return any(client.flags & EventFlag.ATTLOG for client in self.clients())

    def drop(self) -> None:
        """Cut every connection (the network fails, or the terminal reboots)."""
        for client in self.clients():
            with contextlib.suppress(OSError):
                client.sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        """Stop listening and cut every connection."""
        self.drop()
        self._server.shutdown()
        self._server.server_close()

    def _serve(self, sock: socket.socket) -> None:
        if self.refusing:
            sock.close()
            return
        client = _Client(sock, next(self._sessions))
        with self._lock:
            self._clients.append(client)
        reader = FrameReader()
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    return
                reader.feed(data)
                while (packet := reader.next_packet()) is not None:
                    if not self._answer(client, packet):
                        return
        except (OSError, ZkError):
            return
        finally:
            with self._lock:
                self._clients.remove(client)
            sock.close()

    def _answer(self, client: _Client, packet: Packet) -> bool:
        """Answer one packet; False when the connection ends."""
        command, data = packet.command, packet.data

        def reply(code: int, payload: bytes = b"") -> None:
            client.send(encode(code, client.session, packet.reply, payload))

        if command == Command.ACK_OK:
            self.counts["event_acks"] += 1
        elif command == Command.CONNECT:
            self.counts["connects"] += 1
            client.authed = not self.comm_key
            reply(Command.ACK_OK if client.authed else Command.ACK_UNAUTH)
        elif command == Command.AUTH:
            client.authed = data == commkey(self.comm_key, client.session)
            self.counts["refused_auth"] += not client.authed
            reply(Command.ACK_OK if client.authed else Command.ACK_UNAUTH)
        elif not client.authed:
            reply(Command.ACK_UNAUTH)
        elif command == Command.EXIT:
            reply(Command.ACK_OK)
            return False
        else:
            self._answer_command(client, command, data, reply)
        return True

    def _answer_command(self, client: _Client, command: int, data: bytes,
                        reply: Callable[..., None]) -> None:
        if command == Command.REG_EVENT and len(data) >= 4:
            client.flags = struct.unpack_from("<I", data)[0]
            reply(Command.ACK_OK)
        elif command == Command.GET_TIME:
            reply(Command.ACK_OK, struct.pack("<I", encode_time32(self.now())))
        elif command == Command.OPTIONS_RRQ:
            name = data.split(b"\0", 1)[0]
            if name == b"~SerialNumber":
                reply(Command.ACK_OK, b"~SerialNumber=" + self.serial.encode() + b"\0")
            else:
                reply(Command.ACK_ERROR)
        elif command in (Command.DISABLEDEVICE, Command.ENABLEDEVICE):
            self.counts["disabled"] += command == Command.DISABLEDEVICE
            reply(Command.ACK_OK)
        elif command == Command.DATA_WRRQ and data[1:3] == struct.pack("<H",
                                                                      Command.ATTLOG_RRQ):
            self.counts["log_reads"] += 1
            with self._lock:
                client.buffer = encode_attlog_buffer(list(self.log))
            size = len(client.buffer)
            if size <= SMALL_SET_BYTES:
                reply(Command.DATA, client.buffer)
            else:
                reply(Command.ACK_OK, b"\0" + struct.pack("<III", size, size, 0))
        elif command == Command.DATA_RDY and len(data) >= 8:
            offset, length = struct.unpack_from("<iI", data)
            chunk = client.buffer[offset:offset + length]
            reply(Command.PREPARE_DATA, struct.pack("<II", len(chunk), 0))
            for start in range(0, len(chunk), DATA_PACKET_BYTES):
                reply(Command.DATA, chunk[start:start + DATA_PACKET_BYTES])
            reply(Command.ACK_OK)
        elif command == Command.FREE_DATA:
            client.buffer = b""
            reply(Command.ACK_OK)
        else:
            reply(Command.ACK_UNKNOWN)

    def _try_send(self, client: _Client, data: bytes) -> None:
        with contextlib.suppress(OSError):  # a client gone: its handler thread cleans up
            client.send(data)


C3_START, C3_VERSION, C3_END = 0xAA, 0x01, 0x55
C3_REPLY_ERROR = 0xC9


def c3_crc16(data: bytes) -> int:
    """The C3 packets' checksum: CRC-16/ARC (polynomial 0xA001 reflected, start 0)."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def c3_packet(command: int, data: bytes = b"") -> bytes:
    """One C3 packet: ``AA 01 <command> <length u16 LE> <data> <crc16 LE> 55``."""
    body = bytes([C3_VERSION, command]) + len(data).to_bytes(2, "little") + data
    return bytes([C3_START]) + body + c3_crc16(body).to_bytes(2, "little") + bytes([C3_END])


class C3Panel:
    """A ZKAccess C3 / InBIO access panel on port 4370, as a terminal client meets it: it
    reads whatever arrives and answers each request with a C3 error packet (the panel does
    not know the terminal protocol). ``requests`` counts what it was sent."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.requests = 0
        panel = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                sock: socket.socket = self.request
                with contextlib.suppress(OSError):
                    while sock.recv(65536):
                        panel.requests += 1
                        sock.sendall(c3_packet(C3_REPLY_ERROR, b"\xfe\xff\xff\xff"))

        self._server = socketserver.ThreadingTCPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()

    @property
    def address(self) -> tuple[str, int]:
        """Where the panel listens."""
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def close(self) -> None:
        """Stop listening."""
        self._server.shutdown()
        self._server.server_close()
