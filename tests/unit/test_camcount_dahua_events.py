"""Dahua ``NumberStat`` events of the ``eventManager`` stream read as running totals: the
real part body, the channel from ``index``, the time from ``UTC`` or ``LocaleTime``, and
broken counts refused."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from edge.camcount.dahua import read_number_stat
from edge.dahua.parse import body_complete, read_body
from edge.vendors.payload import BadPayload

ZONE = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 12, 6, 8, 0, tzinfo=dt.UTC)

# as an IPC-HDW8341X-3D writes it (data spread over lines)
BODY = b"""Code=NumberStat;action=Pulse;index=1;data={
   "AreaID" : 2,
   "Class" : "NumberStat",
   "EnteredNumber" : 1208,
   "EventID" : 10231,
   "ExitedNumber" : 1190,
   "Name" : "Gate",
   "Number" : 18,
   "PTS" : 43380319830.0,
   "RuleID" : 1,
   "Type" : "EnterOver",
   "UTC" : 1615580510
}"""


def test_the_real_event_is_read_as_running_totals_of_its_own_stream() -> None:
    assert body_complete({}, BODY)
    (event,) = read_body(BODY)
    reading = read_number_stat(event, ZONE, NOW)
    assert (reading.stream, reading.entered, reading.exited) == ("ch2/Gate/area2/events",
                                                                 1208, 1190)
    assert reading.at == dt.datetime.fromtimestamp(1615580510, dt.UTC)
    assert reading.attrs == {"channel": 2, "rule": "Gate", "interface": "event_manager",
                             "inside_total": 18, "limit_alarm": "EnterOver"}


def test_local_time_or_the_device_now_stand_in_for_a_missing_utc() -> None:
    body = (b'Code=NumberStat;action=Pulse;index=0;data={"EnteredNumber": 3, '
            b'"ExitedNumber": 1, "LocaleTime": "2026-12-06 16:00:05"}')
    reading = read_number_stat(read_body(body)[0], ZONE, NOW)
    assert reading.at == dt.datetime(2026, 12, 6, 8, 0, 5, tzinfo=dt.UTC)
    assert reading.stream == "ch1/NumberStat/events"
    bare = read_body(b'Code=NumberStat;action=Pulse;index=0;data={"EnteredNumber": 3, '
                     b'"ExitedNumber": 1}')[0]
    assert read_number_stat(bare, ZONE, NOW).at == NOW


@pytest.mark.parametrize("data", [
    b'{"EnteredNumber": 3}',
    b'{"EnteredNumber": -1, "ExitedNumber": 0}',
    b'{"EnteredNumber": "many", "ExitedNumber": 0}',
    b'{"EnteredNumber": 3, "ExitedNumber": 99999999999}',
    b'{"EnteredNumber": 3, "ExitedNumber": 1, "UTC": "yesterday"}',
])
def test_broken_counts_are_refused(data: bytes) -> None:
    event = read_body(b"Code=NumberStat;action=Pulse;index=0;data=" + data)[0]
    with pytest.raises(BadPayload):
        read_number_stat(event, ZONE, NOW)
