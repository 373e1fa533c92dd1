"""The ZKTeco binary protocol over TCP (port 4370): framing, packets, checksum, comm key.

Written from the public protocol description (adrobinoga/zk-protocol: protocol.md,
sections/terminal.md, realtime.md, ex_data.md, data-record.md) and checked against real
packets (tests read them from the shared samples). Every packet travels in an 8-byte TCP
wrapper — magic ``50 50 82 7d`` and the payload length (u32, little-endian) — and its
payload starts with four little-endian u16: command (or reply code), checksum, session id,
reply number; the command's data follows.

- The checksum is the ones'-complement of the ones'-complement sum of the payload's 16-bit
  little-endian words, checksum field left out (odd length padded with a zero byte).
- The session id is assigned by the terminal in its reply to ``CMD_CONNECT``.
- The reply number counts the client's commands; a reply carries the number of its command.
- Real-time packets (``CMD_REG_EVENT``) carry the event code in the session-id field and
  reply number 0; the client acknowledges each with ``CMD_ACK_OK``.

ZKAccess access panels (C3-100/200/400, InBIO 160/260/460) listen on the same port but
speak another protocol: ``AA 01 <command> <length u16> <data> <crc16> 55``. Their answer
is recognised by its first two bytes (``AccessPanelProtocol``) so that the installer is
told what the device is instead of reading "no packet start" at every reconnection.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from edge.zkteco.records import AccessPanelProtocol, FramingError

MAGIC = b"\x50\x50\x82\x7d"
WRAPPER = struct.Struct("<4sI")
HEADER = struct.Struct("<HHHH")
C3_START = b"\xaa\x01"
"""First bytes of a ZKAccess C3 / InBIO panel's packet (start byte, protocol version)."""
MAX_PAYLOAD = 1 << 20
"""Longer packets are refused: a terminal sends data in chunks far smaller than this."""


class Command(IntEnum):
    """Command and reply codes (the ones this adapter and its simulator use)."""

    OPTIONS_RRQ = 11
    ATTLOG_RRQ = 13
    GET_TIME = 201
    SET_TIME = 202
    REG_EVENT = 500
    CONNECT = 1000
    EXIT = 1001
    ENABLEDEVICE = 1002
    DISABLEDEVICE = 1003
    AUTH = 1102
    PREPARE_DATA = 1500
    DATA = 1501
    FREE_DATA = 1502
    DATA_WRRQ = 1503
    DATA_RDY = 1504
    ACK_OK = 2000
    ACK_ERROR = 2001
    ACK_DATA = 2002
    ACK_RETRY = 2003
    ACK_REPEAT = 2004
    ACK_UNAUTH = 2005
    ACK_UNKNOWN = 0xFFFF


class EventFlag(IntEnum):
    """Real-time event codes (``CMD_REG_EVENT``): registered as a bit mask, reported one
    per packet in the session-id field."""

    ATTLOG = 1
    FINGER = 2
    ENROLLUSER = 4
    ENROLLFINGER = 8
    BUTTON = 16
    UNLOCK = 32
    VERIFY = 128
    FPFTR = 256
    ALARM = 512


REPLIES = frozenset({Command.ACK_OK, Command.ACK_ERROR, Command.ACK_DATA, Command.ACK_RETRY,
                     Command.ACK_REPEAT, Command.ACK_UNAUTH, Command.ACK_UNKNOWN,
                     Command.DATA, Command.PREPARE_DATA})


@dataclass(frozen=True, slots=True)
class Packet:
    """One decoded packet."""

    command: int
    checksum: int
    session: int
    reply: int
    data: bytes
    checksum_ok: bool

    @property
    def is_event(self) -> bool:
        """A real-time event the terminal sent unasked."""
        return self.command == Command.REG_EVENT

    @property
    def event(self) -> int:
        """The event code of a real-time packet (kept in the session-id field)."""
        return self.session


def checksum(body: bytes) -> int:
    """The checksum of a payload given without its checksum field."""
    if len(body) % 2:
        body += b"\0"
    total: int = sum(struct.unpack(f"<{len(body) // 2}H", body))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def encode(command: int, session: int, reply: int, data: bytes = b"") -> bytes:
    """A whole packet, TCP wrapper included."""
    head = struct.pack("<H", command)
    rest = struct.pack("<HH", session, reply) + data
    payload = head + struct.pack("<H", checksum(head + rest)) + rest
    return WRAPPER.pack(MAGIC, len(payload)) + payload


def decode_payload(payload: bytes) -> Packet:
    """A payload (without the TCP wrapper) → a packet; FramingError when it is too short."""
    if len(payload) < HEADER.size:
        raise FramingError(f"payload of {len(payload)} bytes; a header needs {HEADER.size}")
    command, check, session, reply = HEADER.unpack_from(payload)
    data = payload[HEADER.size:]
    expected = checksum(payload[:2] + payload[4:])
    return Packet(command, check, session, reply, data, check == expected)


def payload_length(wrapper: bytes) -> int:
    """The payload length an 8-byte wrapper announces; FramingError when it is no wrapper."""
    magic, length = WRAPPER.unpack(wrapper)
    length = int(length)
    if magic != MAGIC and wrapper.startswith(C3_START):
        raise AccessPanelProtocol(
            "the device answers in the ZKAccess C3/InBIO access-panel protocol (packets "
            f"AA 01 … 55: {wrapper.hex()}), not the terminal protocol of zkteco-tcp")
    if magic != MAGIC:
        raise FramingError(f"no packet start: {wrapper.hex()} (expected {MAGIC.hex()}…)")
    if not HEADER.size <= length <= MAX_PAYLOAD:
        raise FramingError(f"packet announces {length} bytes; "
                           f"{HEADER.size}–{MAX_PAYLOAD} allowed")
    return length


class FrameReader:
    """Cuts a TCP byte stream into packets. Pure: feed it bytes, take packets out.

    FramingError means the stream cannot be trusted any more (a bad magic, an impossible
    length): the caller drops the connection.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> None:
        """Add received bytes."""
        self._buffer += data

    @property
    def pending(self) -> int:
        """Bytes received and not yet part of a whole packet."""
        return len(self._buffer)

    def next_packet(self) -> Packet | None:
        """The next whole packet, or None until more bytes arrive."""
        if len(self._buffer) < WRAPPER.size:
            return None
        length = payload_length(bytes(self._buffer[:WRAPPER.size]))
        end = WRAPPER.size + length
        if len(self._buffer) < end:
            return None
        payload = bytes(self._buffer[WRAPPER.size:end])
        del self._buffer[:end]
        return decode_payload(payload)


def commkey(key: int, session: int, ticks: int = 50) -> bytes:
    """The data of ``CMD_AUTH``: the comm key scrambled with the session id.

    From the published description of the terminals' ``MakeKey``: reverse the key's 32
    bits, add the session id, XOR the four little-endian bytes with ``Z K S O``, swap the
    two 16-bit halves, then XOR bytes 0, 1 and 3 with ``ticks`` and put ``ticks`` in byte 2.
    (Not checked against a real terminal here: the simulator uses this same function.)
    """
    reversed_key = int(f"{key & 0xFFFFFFFF:032b}"[::-1], 2)
    scrambled = bytes(b ^ m for b, m in zip(
        struct.pack("<I", (reversed_key + session) & 0xFFFFFFFF), b"ZKSO", strict=True))
    low, high = struct.unpack("<HH", scrambled)
    swapped = struct.pack("<HH", high, low)
    tick = ticks & 0xFF
    return bytes((swapped[0] ^ tick, swapped[1] ^ tick, tick, swapped[3] ^ tick))
