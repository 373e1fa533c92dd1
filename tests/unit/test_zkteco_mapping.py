"""ZKTeco configuration, PUSH text and the mapping of punches, alarms and operations."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from edge.config import parse_agent_config
from edge.zkteco.config import ZktecoPushSource, ZktecoTcpSource
from edge.zkteco.mapping import Mapper
from edge.zkteco.pushtext import (
    body_lines,
    decode_line,
    options_reply,
    parse_attlog,
    parse_info,
    parse_operlog,
    stamp_of,
)
from edge.zkteco.records import Alarm, BadRecord, Operation, Punch
from hardware.profiles import load_profile
from linli.contract import derived_event_id, new_event_id, parse_event
from linli.errors import ConfigError

WHEN = dt.datetime(2026, 11, 22, 8, 1, 2)
PROFILES = Path(__file__).resolve().parents[2] / "hardware" / "profiles"


def push(**changes: Any) -> ZktecoPushSource:
    return ZktecoPushSource.model_validate({"device": "b01-u1-door", "serial": "CKJ001",
                                            **changes})


def mapper(**changes: Any) -> Mapper:
    return Mapper(push(**changes), community="juxin", building="b01")


def punch(verify: int | None = 15, state: int | None = 0, pin: str = "7") -> Punch:
    return Punch(pin=pin, time=WHEN, state=state, verify=verify, workcode="0")


# ----------------------------------------------------------------- PUSH text
def test_attlog_lines() -> None:
    record = parse_attlog("7\t2026-11-22 08:01:02\t1\t4\t0\t0\t0")
    assert record == Punch("7", WHEN, 1, 4, "0", "push")
    assert parse_attlog("12\t2026-11-22 08:01:02") == Punch("12", WHEN, None, None, None)
    for line, reason in [("7", "at least PIN and time"), ("\t2026-11-22 08:01:02", "bad PIN"),
                         ("x" * 25 + "\t2026-11-22 08:01:02", "bad PIN"),
                         ("7\t22/11/2026 08:01", "bad time"),
                         ("7\t2026-11-22 08:01:02\tin", "bad state"),
                         ("7\t2026-11-22 08:01:02\t0\t²", "bad verify")]:
        with pytest.raises(BadRecord, match=reason):
            parse_attlog(line)


def test_lines_are_utf8_or_gbk_or_rejected() -> None:
    assert decode_line("USER PIN=1\tName=张桂英".encode()) == "USER PIN=1\tName=张桂英"
    assert decode_line("USER PIN=1\tName=张桂英".encode("gbk")) == "USER PIN=1\tName=张桂英"
    with pytest.raises(BadRecord, match="neither UTF-8 nor GBK"):
        decode_line(b"7\t\xff\xff\xff")
    with pytest.raises(BadRecord, match="at most 4096"):
        decode_line(b"7" * 5000)
    assert list(body_lines(b"a\r\n\r\nb\n  \nc")) == [(1, b"a"), (3, b"b"), (5, b"c")]


def test_operlog_lines() -> None:
    assert parse_operlog("OPLOG 3\t0\t2026-11-22 08:01:02\t53\t0\t0\t0") == Operation(
        3, "0", WHEN, ("53", "0", "0", "0"))
    assert parse_operlog("USER PIN=1\tName=\xe5\tPri=0") is None
    with pytest.raises(BadRecord, match="unknown OPERLOG line type"):
        parse_operlog("TELEPORT 1")
    with pytest.raises(BadRecord, match="bad operation code"):
        parse_operlog("OPLOG x\t0\t2026-11-22 08:01:02")


def test_handshake_options_and_stamps() -> None:
    text = options_reply("CKJ001", attlog_stamp="41", operlog_stamp=None, delay_s=10,
                         error_delay_s=30, utc_offset=dt.timedelta(hours=8))
    options = dict(line.split("=", 1) for line in text.splitlines()[1:])
    assert text.startswith("GET OPTION FROM: CKJ001\n")
    assert (options["ATTLOGStamp"], options["OPERLOGStamp"]) == ("41", "None")
    assert (options["Realtime"], options["Delay"], options["TimeZone"]) == ("1", "10", "8")
    assert "AttLog" in options["TransFlag"] and "OpLog" in options["TransFlag"]
    assert stamp_of({"Stamp": "9"}, "ATTLOG") == "9"
    assert stamp_of({"OpStamp": "3", "Stamp": "9"}, "OPERLOG") == "3"
    assert stamp_of({"Stamp": "9; DROP"}, "ATTLOG") is None
    assert parse_info("Ver 6.60,12,8,300,10.0.0.9")["stored_records"] == "300"


# ----------------------------------------------------------------- punches
@pytest.mark.parametrize(("verify", "credential"), [
    (1, "fingerprint"), (2, "pin"), (3, "pin"), (4, "card"), (15, "face"), (5, None),
    (0, None), (None, None)])
def test_verify_type_becomes_the_credential(verify: int | None, credential: str | None) -> None:
    event = mapper(direction="in").punch(punch(verify), record="r1")
    assert (event.kind, event.credential, event.direction) == ("passage", credential, "in")
    assert event.source == "door" and event.confidence == 1.0
    assert event.occurred_at == WHEN.replace(tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert event.event_id == derived_event_id("juxin", "b01", "b01-u1-door", "r1")
    assert parse_event(event.topic, event.to_json()) == event


def test_the_state_is_kept_and_a_direction_only_when_the_site_says_so() -> None:
    plain = mapper(direction="in").punch(punch(state=1), record="r")
    assert (plain.direction, plain.attrs["state"]) == ("in", 1)  # the keypad's check-out
    assert mapper().punch(punch(state=1), record="r").direction is None
    by_state = mapper(direction="in", state_is_direction=True)
    assert by_state.punch(punch(state=1), record="r").direction == "out"
    assert by_state.punch(punch(state=9), record="r").direction == "in"  # unknown: terminal's
    custom = mapper(state_is_direction=True, states={4: "out", 1: None})
    assert custom.punch(punch(state=4), record="r").direction == "out"
    assert custom.punch(punch(state=1), record="r").direction is None


def test_credentials_persons_and_drift_follow_the_configuration() -> None:
    m = mapper(credentials={0: "pin", 2: "card", 15: None}, person_format="r-{pin:0>4}",
               drift_threshold_s=30)
    assert m.punch(punch(0), record="r").credential == "pin"
    assert m.punch(punch(2), record="r").credential == "card"
    assert m.punch(punch(15), record="r").credential is None
    assert m.punch(punch(pin="7"), record="r").person_id == "r-0007"
    assert "drift_s" not in m.punch(punch(), record="r", drift_s=12.0).attrs
    assert m.punch(punch(), record="r", drift_s=-95.4).attrs["drift_s"] == -95
    with pytest.raises(BadRecord, match="event contract"):
        mapper(person_format="{pin}" * 10).punch(punch(pin="x" * 20), record="r")


# ----------------------------------------------------------------- alarms and operations
def alarm_event(code: int, m: Mapper | None = None) -> Any:
    return (m or mapper(direction="in")).alarm(Alarm(code, WHEN, "live"),
                                               event_id=new_event_id())


@pytest.mark.parametrize(("code", "kind", "extra"), [
    (0x22, "access_denied", {"reason": "passback"}),
    (0x3A, "access_denied", {"reason": "invalid_verification"}),
    (0x35, "exit_button", {"alarm_name": "exit_button"}),
    (0x36, "door_forced", {"alarm_name": "door_broken"}),
    (0x33, "door_held_open", {"alarm_name": "door_open"}),
    (0x32, "door_closed", {}),
    (0x54, "door_closed", {}),
])
def test_alarm_codes(code: int, kind: str, extra: dict[str, str]) -> None:
    event = alarm_event(code)
    assert event.kind == kind and event.attrs["alarm"] == code
    assert extra.items() <= event.attrs.items()
    assert event.direction == ("out" if kind == "exit_button" else None)


def test_tamper_and_duress_are_alarms_and_unknown_codes_are_kept_aside() -> None:
    assert (alarm_event(0x37).kind, alarm_event(0x37).direction) == ("tamper", None)
    assert alarm_event(0x20).kind == "duress"
    with pytest.raises(BadRecord, match=r"unknown alarm code 99 \(0x63\)"):
        alarm_event(99)
    assert alarm_event(0xFFFF) is None  # "alarm cancelled"
    m = mapper(codes={"alarm:0x37": "door_forced", "alarm:53": "ignore", "alarm:99": "door_opened"})
    assert alarm_event(0x37, m).kind == "door_forced"
    assert alarm_event(0x35, m) is None
    assert alarm_event(99, m).kind == "door_opened"


def test_operations() -> None:
    m = mapper(codes={"op:29": "door_opened"})
    forced = m.operation(Operation(3, "0", WHEN, ("54", "0", "0", "0")), record="o1")
    assert forced is not None and (forced.kind, forced.attrs["op"]) == ("door_forced", 3)
    assert forced.event_id == derived_event_id("juxin", "b01", "b01-u1-door", "o1")
    assert m.operation(Operation(4, "0", WHEN, ()), record="o2") is None  # entered the menu
    opened = m.operation(Operation(29, "1", WHEN, ("7",)), record="o3")
    assert opened is not None and opened.kind == "door_opened"
    duress = m.operation(Operation(32, "0", WHEN, ()), record="o4")
    assert duress is not None and (duress.kind, duress.attrs["op"]) == ("duress", 32)
    with pytest.raises(BadRecord, match="numeric alarm code"):
        m.operation(Operation(3, "0", WHEN, ("²",)), record="o5")


# ----------------------------------------------------------------- configuration
def test_agent_configuration_takes_both_source_types() -> None:
    config = parse_agent_config({"community": "juxin", "building": "b01", "sources": [
        {"type": "zkteco-push", "device": "b01-u1-door", "serial": "CKJ001",
         "listen": "0.0.0.0:8088", "direction": "in", "codes": {"alarm:55": "door_forced"}},
        {"type": "zkteco-tcp", "device": "b01-u2-door", "host": "10.0.0.31",
         "comm_key": 1234, "credentials": {"0": "pin"}}]})
    first, second = config.sources
    assert isinstance(first, ZktecoPushSource) and first.address == ("0.0.0.0", 8088)
    assert isinstance(second, ZktecoTcpSource) and second.port == 4370
    assert "1234" not in repr(second)  # the comm key stays out of logs


@pytest.mark.parametrize(("changes", "where"), [
    ({"listen": "8088"}, "listen"),
    ({"listen": "0.0.0.0:99999"}, "listen"),
    ({"serial": "CKJ 001"}, "serial"),
    ({"codes": {"55": "door_forced"}}, "alarm:<n>"),
    ({"codes": {"alarm:55": "sabotage"}}, "neither an event kind"),
    ({"credentials": {"face": "face"}}, "numbers"),
    ({"person_format": "r-{person}"}, "{pin}"),
    ({"timezone": "Mars/Olympus"}, "time zone"),
])
def test_bad_configuration_names_the_field(changes: dict[str, Any], where: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(where)):
        push(**changes)
    with pytest.raises(ConfigError, match=r"sources\.0"):
        parse_agent_config({"community": "juxin", "building": "b01", "sources": [
            {"type": "zkteco-push", "device": "b01-u1-door", "serial": "CKJ001", **changes}]})


@pytest.mark.parametrize("name", ["zkteco-push.yaml", "zkteco-tcp.yaml"])
def test_device_profiles_fit_the_configuration(name: str) -> None:
    profile = load_profile(PROFILES / name)
    assert profile.protocol == profile.family
    own = {"serial": "CKJ001"} if profile.protocol == "zkteco-push" else {"host": "10.0.0.31"}
    values = profile.source_values("b01-u1-door", own, community="juxin", building="b01")
    source = parse_agent_config({"community": "juxin", "building": "b01",
                                 "sources": [values]}).sources[0]
    assert isinstance(source, ZktecoPushSource | ZktecoTcpSource)
    m = Mapper(source, community="juxin", building="b01")
    assert m.punch(punch(15), record="r").credential == "face"
    assert alarm_event(0x35, m).kind == "exit_button"
