"""One TCP connection to a ZKTeco terminal: commands and their replies, with the real-time
packets the terminal sends in between handed to the source and then acknowledged.

A real-time packet is acknowledged only after the handler returned (the source has spooled
its event or kept it aside). When the handler raises, no acknowledgement is sent and the
error ends the connection; the source reconnects and catches up from the terminal's log.

Reading the attendance log (``read_buffer``) follows the public description of large data
transfers: ``CMD_DATA_WRRQ`` names what to read; a small set comes back at once as
``CMD_DATA``, a large one as ``CMD_ACK_OK`` with its size, then each chunk is asked for
with ``CMD_DATA_RDY`` (offset, length) and arrives as ``CMD_PREPARE_DATA``, ``CMD_DATA``
packets and ``CMD_ACK_OK``; ``CMD_FREE_DATA`` releases the terminal's buffer.
"""

from __future__ import annotations

import logging
import socket
import struct
import time
from collections.abc import Callable

from edge.zkteco.protocol import Command, FrameReader, Packet, commkey, encode
from edge.zkteco.records import ProtocolError

log = logging.getLogger(__name__)

MAX_BUFFER_BYTES = 32 << 20
"""A log announced larger than this is refused (a 100,000-record log is 4 MB)."""
RECV_BYTES = 65536

EventHandler = Callable[[Packet], None]


class ConnectionClosed(ProtocolError):
    """The terminal closed the connection."""


class AuthError(ProtocolError):
    """The terminal refused the connection (wrong or missing comm key)."""


def command_name(code: int) -> str:
    """``CMD_ACK_OK`` style name of a command or reply code (its number if unknown)."""
    try:
        return f"CMD_{Command(code).name}"
    except ValueError:
        return str(code)


class Session:
    """A connected terminal; not thread-safe (one source thread owns it)."""

    def __init__(self, sock: socket.socket, *, timeout_s: float,
                 on_event: EventHandler) -> None:
        self._sock = sock
        self._timeout = timeout_s
        self._on_event = on_event
        self._reader = FrameReader()
        self._reply = 0
        self.session_id = 0

    @classmethod
    def open(cls, host: str, port: int, *, timeout_s: float, on_event: EventHandler,
             comm_key: int = 0) -> Session:
        """Connect, send ``CMD_CONNECT`` and, when the terminal asks for it, ``CMD_AUTH``."""
        sock = socket.create_connection((host, port), timeout=timeout_s)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        session = cls(sock, timeout_s=timeout_s, on_event=on_event)
        try:
            session.connect(comm_key)
        except BaseException:
            sock.close()
            raise
        return session

    def connect(self, comm_key: int) -> None:
        """Open the protocol session; AuthError when the terminal refuses it."""
        reply = self.request(Command.CONNECT)
        self.session_id = reply.session
        if reply.command == Command.ACK_UNAUTH:
            if not comm_key:
                raise AuthError("the terminal wants a comm key and none is configured")
            reply = self.request(Command.AUTH, commkey(comm_key, self.session_id))
            if reply.command == Command.ACK_UNAUTH:
                raise AuthError("the terminal refused the comm key")
        if reply.command != Command.ACK_OK:
            raise AuthError(f"the terminal answered {command_name(reply.command)} to "
                            "CMD_CONNECT")

    def request(self, command: int, data: bytes = b"") -> Packet:
        """Send a command and return its reply (real-time packets are handled meanwhile)."""
        number = self._reply
        self._reply = (self._reply + 1) % 0xFFFF
        self._send(encode(command, self.session_id, number, data))
        return self._await(number)

    def expect_ok(self, command: int, data: bytes = b"") -> Packet:
        """``request`` that must be answered with ``CMD_ACK_OK``."""
        reply = self.request(command, data)
        if reply.command != Command.ACK_OK:
            raise ProtocolError(f"{command_name(command)} answered with "
                                f"{command_name(reply.command)}")
        return reply

    def pump(self, duration_s: float) -> None:
        """Handle the real-time packets that arrive within ``duration_s``."""
        deadline = time.monotonic() + duration_s
        while True:
            try:
                packet = self._next(deadline)
            except TimeoutError:
                return
            if packet.is_event:
                self._dispatch(packet)
            else:
                log.debug("stray %s (reply %d) ignored", command_name(packet.command),
                          packet.reply)

    def read_buffer(self, what: int, chunk_bytes: int) -> bytes:
        """Read a data set (``Command.ATTLOG_RRQ`` …) from the terminal."""
        reply = self.request(Command.DATA_WRRQ, struct.pack("<BHII", 1, what, 0, 0))
        if reply.command == Command.DATA:
            return reply.data
        if reply.command != Command.ACK_OK or len(reply.data) < 5:
            raise ProtocolError(f"CMD_DATA_WRRQ answered with {command_name(reply.command)} "
                                f"and {len(reply.data)} bytes")
        (size,) = struct.unpack_from("<I", reply.data, 1)
        if size > MAX_BUFFER_BYTES:
            raise ProtocolError(f"the terminal offers {size} bytes; at most "
                                f"{MAX_BUFFER_BYTES} are read")
        buffer = bytearray()
        try:
            for offset in range(0, size, chunk_bytes):
                buffer += self._read_chunk(offset, min(chunk_bytes, size - offset))
        finally:
            self.expect_ok(Command.FREE_DATA)
        return bytes(buffer)

    def close(self, *, polite: bool = True) -> None:
        """Say goodbye (``CMD_EXIT``, best effort) and close the socket."""
        try:
            if polite:
                self._send(encode(Command.EXIT, self.session_id, self._reply))
        except OSError:
            pass
        finally:
            self._sock.close()

    def _read_chunk(self, offset: int, length: int) -> bytes:
        number = self._reply
        packet = self.request(Command.DATA_RDY, struct.pack("<iI", offset, length))
        if packet.command == Command.DATA:
            return self._sized(packet.data, length)
        if packet.command != Command.PREPARE_DATA:
            raise ProtocolError(f"CMD_DATA_RDY answered with {command_name(packet.command)}")
        received = bytearray()
        while len(received) < length:
            packet = self._await(number)
            if packet.command != Command.DATA:
                raise ProtocolError(f"expected CMD_DATA, got {command_name(packet.command)} "
                                    f"after {len(received)} of {length} bytes")
            received += packet.data
        if self._await(number).command != Command.ACK_OK:
            raise ProtocolError("a data chunk was not closed with CMD_ACK_OK")
        return self._sized(bytes(received), length)

    @staticmethod
    def _sized(data: bytes, length: int) -> bytes:
        if len(data) != length:
            raise ProtocolError(f"chunk of {len(data)} bytes; {length} were asked for")
        return data

    def _await(self, number: int) -> Packet:
        deadline = time.monotonic() + self._timeout
        while True:
            packet = self._next(deadline)
            if packet.is_event:
                self._dispatch(packet)
                continue
            if packet.reply != number:
                log.debug("late %s (reply %d, waiting for %d) ignored",
                          command_name(packet.command), packet.reply, number)
                continue
            if not packet.checksum_ok:
                raise ProtocolError(f"{command_name(packet.command)} with a bad checksum")
            return packet

    def _dispatch(self, packet: Packet) -> None:
        self._on_event(packet)
        self._send(encode(Command.ACK_OK, self.session_id, packet.reply))

    def _next(self, deadline: float) -> Packet:
        while True:
            packet = self._reader.next_packet()
            if packet is not None:
                return packet
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no packet from the terminal in time")
            self._sock.settimeout(remaining)
            chunk = self._sock.recv(RECV_BYTES)
            if not chunk:
                partly = f" after {self._reader.pending} bytes of a packet" \
                    if self._reader.pending else ""
                raise ConnectionClosed(f"the terminal closed the connection{partly}")
            self._reader.feed(chunk)

    def _send(self, data: bytes) -> None:
        self._sock.settimeout(self._timeout)
        self._sock.sendall(data)
