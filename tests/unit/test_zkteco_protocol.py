"""The ZKTeco TCP codec against real packets (shared samples) and its own round trips."""

from __future__ import annotations

import datetime as dt
import re
import struct
from pathlib import Path

import pytest

from edge.zkteco.layouts import (
    decode_time6,
    decode_time32,
    encode_alarm,
    encode_attlog_buffer,
    encode_live_punch,
    encode_time6,
    encode_time32,
    parse_alarm,
    parse_attlog_buffer,
    parse_live_punch,
    parse_option,
)
from edge.zkteco.protocol import (
    MAX_PAYLOAD,
    WRAPPER,
    Command,
    EventFlag,
    FrameReader,
    checksum,
    commkey,
    decode_payload,
    encode,
)
from edge.zkteco.records import BadRecord, FramingError, Punch

NOW = dt.datetime(2026, 11, 22, 8, 1, 2, tzinfo=dt.UTC)


# ----------------------------------------------------------------- the shared samples
def pyzk_packets(samples: Path) -> list[tuple[bytes, dict[str, str]]]:
    """The pyzk test packets and the decode published next to each (user_id=… time=…)."""
    text = (samples / "access/zkteco/01_pyzk_tcp_live_capture_packets.txt").read_text()
    lines = text.splitlines()
    found = []
    for index, line in enumerate(lines):
        if re.fullmatch(r"[0-9a-f]{32,}", line.strip()):
            note = lines[index + 1]
            fields = dict(re.findall(r"([a-z_()]+)=(\S+(?: \d\d:\d\d:\d\d)?)", note))
            found.append((bytes.fromhex(line.strip()), fields))
    return found


def hexdumps(samples: Path) -> list[tuple[bytes, str]]:
    """The zk-protocol hex dumps (bytes) with the comment lines that follow each."""
    text = (samples / "access/zkteco/02_zk-protocol_hexdumps.txt").read_text()
    dumps: list[tuple[bytes, str]] = []
    current, notes = bytearray(), []
    for line in [*text.splitlines(), "## end"]:
        match = re.match(r"\s*[0-9a-fA-F]{8}:\s(.*)", line)
        if match:
            tokens = match.group(1).split()
            for token in tokens[:16]:
                if not re.fullmatch(r"[0-9A-Fa-f]{2}", token):
                    break
                current.append(int(token, 16))
        elif line.startswith("#") and current and not line.startswith("##"):
            notes.append(line)
        elif line.startswith("##") and current:
            dumps.append((bytes(current), "\n".join(notes)))
            current, notes = bytearray(), []
    return dumps


def test_real_packets_carry_the_checksum_we_compute(shared_samples: Path) -> None:
    realtime, _ = hexdumps(shared_samples)[0]
    assert decode_payload(realtime[WRAPPER.size:]).checksum_ok
    (numeric, _), (text, _) = pyzk_packets(shared_samples)
    assert decode_payload(numeric[WRAPPER.size:]).checksum_ok
    # pyzk's second fixture reuses the first one's header (same checksum 0x43ae over other
    # data): a hand-made packet, and we notice
    assert numeric[10:12] == text[10:12]
    assert not decode_payload(text[WRAPPER.size:]).checksum_ok


def test_pyzk_live_packets_decode_as_published(shared_samples: Path) -> None:
    packets = pyzk_packets(shared_samples)
    assert len(packets) == 2
    for raw, published in packets:
        packet = decode_payload(raw[WRAPPER.size:])
        assert packet.is_event and packet.event == EventFlag.ATTLOG
        punch = parse_live_punch(packet.data)
        assert punch.pin == published["user_id"]
        assert punch.verify == int(published["status(verify)"])
        assert punch.state == int(published["punch(state)"])
        assert punch.time == dt.datetime.fromisoformat(published["time"])


def test_a_real_terminal_packet_is_what_we_would_send(shared_samples: Path) -> None:
    raw, notes = hexdumps(shared_samples)[0]
    published = re.search(r'user id is "(\d+)".*?(\d{4})/(\d\d)/(\d\d) (\d\d):(\d\d):(\d\d)',
                          notes)
    assert published is not None and "fingerprint" in notes
    packet = decode_payload(raw[WRAPPER.size:])
    punch = parse_live_punch(packet.data)
    when = dt.datetime(*(int(part) for part in published.groups()[1:]))
    assert (punch.pin, punch.time, punch.verify) == (published.group(1), when, 1)
    # the TCP wrapper's length and the checksum come out the same when we encode it
    assert encode(Command.REG_EVENT, EventFlag.ATTLOG, 0, encode_live_punch(punch)) == raw


def test_a_real_stored_record_reads_and_encodes_back(shared_samples: Path) -> None:
    record, notes = hexdumps(shared_samples)[1]
    published = re.search(r'id "(\d+)", verification type (\d+), encoded time 0x([0-9A-F]+)',
                          notes)
    assert published is not None and len(record) == 40
    ((index, raw, punch),) = parse_attlog_buffer(struct.pack("<I", 40) + record)
    assert isinstance(punch, Punch) and (index, raw) == (0, record)
    assert (punch.pin, punch.verify, punch.state) == (published.group(1),
                                                      int(published.group(2)), 0)
    assert encode_time32(punch.time) == int(published.group(3), 16)
    user_sn = struct.unpack_from("<H", record)[0]
    assert encode_attlog_buffer([(user_sn, punch)])[4:] == record


def test_truncated_sample_packets_wait_for_the_bytes_they_announce(
        shared_samples: Path) -> None:
    raw, _ = pyzk_packets(shared_samples)[0]
    announced = WRAPPER.unpack(raw[:WRAPPER.size])[1]
    reader = FrameReader()
    reader.feed(raw)
    assert announced > len(raw) - WRAPPER.size
    assert reader.next_packet() is None and reader.pending == len(raw)


# ----------------------------------------------------------------- our own round trips
def test_frames_split_anywhere_come_out_whole_and_in_order() -> None:
    packets = [encode(Command.ACK_OK, 7, n, bytes(range(n % 50))) for n in range(20)]
    stream = b"".join(packets)
    reader = FrameReader()
    out = []
    for start in range(0, len(stream), 7):
        reader.feed(stream[start:start + 7])
        while (packet := reader.next_packet()) is not None:
            out.append(packet)
    assert [p.reply for p in out] == list(range(20))
    assert all(p.checksum_ok and p.session == 7 for p in out)
    assert [p.data for p in out] == [bytes(range(n % 50)) for n in range(20)]


@pytest.mark.parametrize(("wrapper", "reason"), [
    (b"GET / HT", "no packet start"),
    (b"\x50\x50\x82\x7d" + struct.pack("<I", MAX_PAYLOAD + 1), "announces"),
    (b"\x50\x50\x82\x7d" + struct.pack("<I", 3), "announces"),
])
def test_a_broken_stream_is_a_framing_error(wrapper: bytes, reason: str) -> None:
    reader = FrameReader()
    reader.feed(wrapper + b"\0" * 16)
    with pytest.raises(FramingError, match=reason):
        reader.next_packet()


def test_a_corrupted_packet_fails_its_checksum() -> None:
    raw = bytearray(encode(Command.REG_EVENT, EventFlag.ATTLOG, 0, b"\x01" * 12))
    assert decode_payload(bytes(raw[8:])).checksum_ok
    raw[-1] ^= 0x40
    assert not decode_payload(bytes(raw[8:])).checksum_ok
    assert checksum(b"") == 0xFFFF and checksum(b"\x01") == 0xFFFE  # odd: padded


def test_commkey_follows_the_published_steps() -> None:
    # key 0, session 0: ZKSO, halves swapped to SOZK, then bytes 0, 1, 3 ^ 50 and byte 2 = 50
    assert commkey(0, 0) == bytes((ord("S") ^ 50, ord("O") ^ 50, 50, ord("K") ^ 50))
    # key 1 reversed is 0x80000000: the top byte 0x80 ^ 'O' lands in byte 1 after the swap
    assert commkey(1, 0) == bytes((ord("S") ^ 50, 0x80 ^ ord("O") ^ 50, 50, ord("K") ^ 50))
    assert commkey(1234, 0x4C01) != commkey(1234, 0x4D01) != commkey(1235, 0x4D01)
    # the sum's low byte ends in byte 2, which the ticks overwrite: the published steps lose it
    assert commkey(1234, 0x4C01) == commkey(1234, 0x4C02)
    assert commkey(1234, 7, ticks=9)[2] == 9


def test_times_both_ways() -> None:
    when = dt.datetime(2026, 11, 22, 23, 59, 58)
    assert decode_time6(encode_time6(when)) == when
    assert decode_time32(encode_time32(when)) == when
    with pytest.raises(BadRecord, match="bad time bytes"):
        decode_time6(bytes((26, 13, 1, 0, 0, 0)))
    with pytest.raises(BadRecord, match="bad time"):
        decode_time32(encode_time32(dt.datetime(2026, 2, 28)) + 3 * 86400)  # "February 31st"


def test_live_punch_layouts() -> None:
    punch = Punch("4822257", dt.datetime(2026, 11, 22, 8, 0, 1), 1, 4, origin="live")
    assert parse_live_punch(encode_live_punch(punch, numeric=True)) == punch
    assert parse_live_punch(encode_live_punch(punch)) == punch
    longer = encode_live_punch(punch) + b"\x00" * 20  # firmware with a work code appended
    assert parse_live_punch(longer) == punch
    for data in (b"", b"\x01" * 20, b"\xff" * 24 + bytes(8)):
        with pytest.raises(BadRecord):
            parse_live_punch(data)


def test_alarm_layouts() -> None:
    assert parse_alarm(encode_alarm(0x35), NOW).code == 0x35
    assert parse_alarm(encode_alarm(0x54), NOW).code == 0x54
    passback = parse_alarm(encode_alarm(0x22, user_sn=12), NOW)
    assert (passback.code, passback.user_sn, passback.time) == (0x22, 12, NOW)
    assert parse_alarm(encode_alarm(0x20), NOW).user_sn is None
    with pytest.raises(BadRecord, match="5 bytes"):
        parse_alarm(b"\x35\0\0\0\0", NOW)


def test_an_attendance_log_with_an_unknown_layout_is_refused_whole() -> None:
    with pytest.raises(BadRecord, match="40-byte records"):
        parse_attlog_buffer(struct.pack("<I", 16) + bytes(16))  # black-and-white records
    with pytest.raises(BadRecord, match="announces 80 bytes and holds 40"):
        parse_attlog_buffer(struct.pack("<I", 80) + bytes(40))
    good = Punch("7", dt.datetime(2026, 11, 22, 8, 0), 0, 15, origin="log")
    buffer = encode_attlog_buffer([(1, good), (2, good)])
    broken = buffer[:4 + 40] + b"\xff" * 40  # the second record's user id is not ASCII
    entries = parse_attlog_buffer(broken)
    assert entries[0][2] == good and "bad user id" in str(entries[1][2])


def test_options_reply() -> None:
    assert parse_option(b"~SerialNumber=CKJ123\0") == ("~SerialNumber", "CKJ123")
