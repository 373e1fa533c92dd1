"""In-home sensor reports → activity events: each signal, edges and repeats, the caps,
household or person, report times, and bad reports kept aside without stopping the rest.

Payloads are shaped like Zigbee2MQTT's (each device's state as one JSON object on
``zigbee2mqtt/<friendly name>``, with what the state cache adds: battery, linkquality …)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from edge.sensor.config import SensorMqttSource
from edge.sensor.mapping import ActivityTracker, Decision, Received, decode_report, report_time
from edge.vendors.payload import BadPayload
from linli.contract import EventKind, Source, parse_event

T0 = dt.datetime(2026, 12, 6, 0, 15, tzinfo=dt.UTC)
SHANGHAI = SensorMqttSource.model_validate(
    {"type": "sensor-mqtt", "device": "g", "url": "mqtt://h",
     "sensors": [{"name": "x", "device": "x", "household": "h", "signal": "motion"}]}).zone

MOTION = {"name": "301 bathroom motion", "device": "h301-motion", "household": "h-301",
          "signal": "motion"}
DOOR = {"name": "301 front door", "device": "h301-door", "household": "h-301",
        "signal": "contact"}
PLUG = {"name": "301 kettle", "device": "h301-kettle", "person": "r-0042", "signal": "power",
        "above": 200}
BUTTON = {"name": "301 button", "device": "h301-button", "person": "r-0042", "signal": "button"}
METER = {"name": "301 water meter", "device": "h301-water", "person": "r-0042",
         "signal": "water", "topic": "meters/301", "field": "flow_lpm", "above": 0,
         "time_field": "ts"}
VOLUME = {"name": "301 water total", "device": "h301-water", "person": "r-0042",
          "signal": "water", "topic": "meters/301", "field": "data.total_l", "increases": True,
          "time_field": "ts"}


def tracker(*sensors: dict[str, Any], **options: Any) -> ActivityTracker:
    config = SensorMqttSource.model_validate({
        "type": "sensor-mqtt", "device": "h301-gateway", "url": "mqtt://127.0.0.1:1884",
        "sensors": list(sensors), **options})
    return ActivityTracker(config, community="juxin", building="b03")


class Feed:
    """Sends reports to a tracker, each ``step`` seconds after the previous one."""

    def __init__(self, tracker: ActivityTracker) -> None:
        self.tracker = tracker
        self.now = T0

    def send(self, topic: str, payload: dict[str, Any] | bytes, *, after: float = 1.0,
             retained: bool = False) -> list[Decision]:
        self.now += dt.timedelta(seconds=after)
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return self.tracker.observe(Received(topic, body, self.now, retained))

    def events(self, topic: str, *payloads: dict[str, Any] | bytes,
               after: float = 1.0) -> list[bool]:
        """For each payload: did it become an event?"""
        return [any(d.event is not None for d in self.send(topic, p, after=after))
                for p in payloads]


def z2m(name: str) -> str:
    return f"zigbee2mqtt/{name}"


def motion(occupancy: bool, **more: Any) -> dict[str, Any]:
    return {"battery": 100, "illuminance": 12, "linkquality": 120, "occupancy": occupancy,
            "voltage": 3025, **more}


def test_motion_edges_are_sent_and_repeats_rate_limited() -> None:
    feed = Feed(tracker(MOTION))
    topic = z2m("301 bathroom motion")
    # someone moves about: the first report is an edge, repeats within a minute are not sent
    assert feed.events(topic, motion(True), motion(True), motion(True)) == [True, False, False]
    assert feed.tracker.stats.rate_limited == 2
    # motion stops, then starts again 5 s later: an edge, sent although a minute has not passed
    assert feed.events(topic, motion(False), motion(True), after=5) == [False, True]
    # still moving after a minute: one repeat goes
    assert feed.events(topic, motion(True), after=61) == [True]
    # a battery-only report says nothing about motion, nor does a state not known yet
    for report in ({"battery": 99, "linkquality": 110}, {"occupancy": None}):
        (decision,) = feed.send(topic, report)
        assert decision.ignored == "no occupancy in the report"


def test_at_most_max_per_hour_events_per_sensor_edges_included() -> None:
    feed = Feed(tracker(MOTION, max_per_hour=5, min_interval_s=0))
    topic = z2m("301 bathroom motion")
    sent = [feed.events(topic, motion(False), motion(True))[1] for _ in range(8)]
    assert sent == [True] * 5 + [False] * 3
    assert feed.tracker.stats.capped == 3
    # an hour after the first, room again
    assert feed.events(topic, motion(False), motion(True), after=3600) == [False, True]


def test_a_door_contact_counts_each_change_after_the_first_report() -> None:
    feed = Feed(tracker(DOOR))
    topic = z2m("301 front door")
    reports = [{"battery": 91, "contact": c, "linkquality": 87, "voltage": 2995}
               for c in (True, True, False, False, True)]
    # first report: the baseline; opening (contact false) and closing are both movement
    assert feed.events(topic, *reports) == [False, False, True, False, True]


def test_power_counts_the_upward_crossing_only() -> None:
    feed = Feed(tracker(PLUG))
    topic = z2m("301 kettle")
    plug = [{"current": 0.0, "energy": 1.2, "power": w, "state": "ON", "voltage": 231}
            for w in (1500, 1480, 0.4, 0.5, 1510, 1490, 0.3)]
    # already on when first seen: a baseline (a kettle left on is no sign of anyone)
    assert feed.events(topic, *plug) == [False, False, False, False, True, False, False]


def test_a_button_press_counts_and_the_empty_action_after_it_does_not() -> None:
    feed = Feed(tracker(BUTTON))
    topic = z2m("301 button")
    presses = [{"action": "single", "battery": 100}, {"action": ""}, {"action": None},
               {"action": "double"}]
    assert feed.events(topic, *presses) == [True, False, False, False]  # double: rate-limited
    assert feed.events(topic, {"action": "hold"}, after=60) == [True]


def test_plain_json_meters_flow_above_and_total_increasing() -> None:
    feed = Feed(tracker(METER, VOLUME))
    readings = [(0, 100.0), (4.5, 100.2), (6.0, 101.0), (0, 101.4), (3.0, 101.9), (0, 0.0),
                (0, 0.5)]
    decisions = [feed.send("meters/301", {"flow_lpm": flow, "data": {"total_l": total}},
                           after=30) for flow, total in readings]
    flow = [d[0].event is not None for d in decisions]
    total = [d[1].event is not None for d in decisions]
    assert flow == [False, True, False, False, True, False, False]
    # the total grows: a repeat, so at most once a minute; a drop (meter reset) is a new base
    assert total == [False, True, False, True, False, False, True]


def test_household_or_person_goes_into_the_event_and_it_keeps_the_contract() -> None:
    feed = Feed(tracker(MOTION, PLUG))
    (by_home,) = feed.send(z2m("301 bathroom motion"), motion(True))
    feed.send(z2m("301 kettle"), {"power": 0})
    (by_person,) = feed.send(z2m("301 kettle"), {"power": 1800, "energy": 3.4})
    assert by_home.event is not None and by_person.event is not None
    assert by_home.event.person_id is None
    assert by_home.event.attrs == {"household": "h-301", "signal": "motion",
                                   "sensor": "301 bathroom motion"}
    assert by_person.event.person_id == "r-0042"
    assert by_person.event.attrs == {"signal": "power", "sensor": "301 kettle"}  # no watts
    for event in (by_home.event, by_person.event):
        again = parse_event(event.topic, event.to_json())
        assert (again.kind, again.source, again.device) == (
            EventKind.ACTIVITY, Source.SENSOR, event.device)
        assert again.occurred_at == event.occurred_at.astimezone(dt.UTC)
    assert by_home.event.event_id != by_person.event.event_id


@pytest.mark.parametrize(("last_seen", "expected"), [
    ("2026-12-06T00:14:58.123Z", dt.datetime(2026, 12, 6, 0, 14, 58, 123000, tzinfo=dt.UTC)),
    ("2026-12-06T08:14:58.123+0800", dt.datetime(2026, 12, 6, 0, 14, 58, 123000, tzinfo=dt.UTC)),
    ("2026-12-06 08:14:58", dt.datetime(2026, 12, 6, 0, 14, 58, tzinfo=dt.UTC)),  # local zone
    (1_765_000_498_123, dt.datetime(2025, 12, 6, 5, 54, 58, 123000, tzinfo=dt.UTC)),
    (1_765_000_498, dt.datetime(2025, 12, 6, 5, 54, 58, tzinfo=dt.UTC)),  # seconds
])
def test_the_reports_own_time_is_the_events_time(last_seen: Any, expected: dt.datetime) -> None:
    feed = Feed(tracker(MOTION))
    (decision,) = feed.send(z2m("301 bathroom motion"), motion(True, last_seen=last_seen))
    assert decision.event is not None and decision.event.occurred_at == expected
    assert report_time(last_seen, SHANGHAI, "last_seen") == expected


def test_without_a_time_the_agents_receipt_is_used_and_a_clock_far_ahead_is_not_trusted() -> None:
    feed = Feed(tracker(MOTION, DOOR))
    (plain,) = feed.send(z2m("301 bathroom motion"), motion(True))
    assert plain.event is not None and plain.event.occurred_at == feed.now
    feed.send(z2m("301 front door"), {"contact": True})
    ahead = (feed.now + dt.timedelta(hours=2)).isoformat()
    (skewed,) = feed.send(z2m("301 front door"), {"contact": False, "last_seen": ahead})
    assert skewed.event is not None and skewed.event.occurred_at == feed.now
    assert feed.tracker.stats.clock_ahead == 1


def test_cached_and_retained_states_are_not_activity() -> None:
    feed = Feed(tracker(MOTION, PLUG))
    topic = z2m("301 bathroom motion")
    seen = "2026-12-06T00:10:00.000Z"
    assert feed.events(topic, motion(True, last_seen=seen)) == [True]
    # the same report again (Zigbee2MQTT republishing its cached state), past min_interval_s
    (again,) = feed.send(topic, motion(True, last_seen=seen), after=600)
    assert again.ignored == "the same report again (same time)"
    # a retained state is old news: a baseline to compare with, never an event itself
    (retained,) = feed.send(z2m("301 kettle"), {"power": 1500}, retained=True)
    assert retained.ignored is not None and retained.ignored.startswith("retained")
    assert feed.events(z2m("301 kettle"), {"power": 1490}, {"power": 0}, {"power": 900}) == [
        False, False, True]


@pytest.mark.parametrize(("payload", "reason"), [
    (b"not json", "report is not JSON"),
    (b"\xff\xfe{", "not UTF-8"),
    (b'["occupancy", true]', "must be a JSON object, not list"),
    (b'{"occupancy": NaN}', "NaN is not a JSON number"),
    (b"[" * 100_000, "at most"),
    (b'{"occupancy": "yes"}', 'occupancy must be true or false, not "yes"'),
    (b'{"occupancy": true, "last_seen": "yesterday"}', "bad last_seen"),
    (b'{"occupancy": true, "last_seen": true}', "ISO 8601 time or epoch milliseconds"),
    (b'{"occupancy": true, "last_seen": 42}', "not a time between 2000 and 2100"),
])
def test_bad_reports_are_rejected_and_the_next_one_still_counts(payload: bytes,
                                                                reason: str) -> None:
    feed = Feed(tracker(MOTION))
    topic = z2m("301 bathroom motion")
    (bad,) = feed.send(topic, payload)
    assert bad.event is None and bad.rejected is not None
    assert reason in bad.rejected.reason
    assert bad.rejected.file == "sensor-mqtt:h301-gateway:zigbee2mqtt/301 bathroom motion"
    assert bad.rejected.raw == payload[:2048]
    assert feed.events(topic, motion(True)) == [True]
    assert feed.tracker.stats.rejected == 1


@pytest.mark.parametrize(("sensor", "payload", "reason"), [
    (PLUG, {"power": "35.2"}, 'power must be a number, not "35.2"'),
    (PLUG, {"power": True}, "power must be a number, not true"),
    (DOOR, {"contact": {"open": 1}}, 'contact must be true/false, a number or text, not {"open": 1}'),
    (BUTTON, {"action": 5}, "action must be text, not 5"),
    (VOLUME, {"data": {"total_l": [1]}}, "data.total_l must be a number, not [1]"),
])
def test_wrong_types_are_rejected_naming_the_sensor_and_field(
        sensor: dict[str, Any], payload: dict[str, Any], reason: str) -> None:
    feed = Feed(tracker(sensor))
    topic = sensor.get("topic") or z2m(sensor["name"])
    (decision,) = feed.send(topic, payload)
    assert decision.rejected is not None
    assert decision.rejected.reason == f"{sensor['name']}: {reason}"


def test_two_sensors_on_one_topic_decide_apart_and_a_bad_report_is_kept_once() -> None:
    feed = Feed(tracker(METER, VOLUME))
    assert [d.sensor for d in feed.send("meters/301", {"flow_lpm": 0})] == [
        "301 water meter", "301 water total"]
    (bad,) = feed.send("meters/301", b"\x00garbage")
    assert bad.rejected is not None
    assert feed.send("zigbee2mqtt/somebody else", motion(True)) == []
    assert feed.tracker.stats.messages == 2


def test_stale_sensors_are_those_not_heard_for_stale_after_s() -> None:
    feed = Feed(tracker(MOTION, DOOR, stale_after_s=3600))
    start = feed.now
    feed.send(z2m("301 bathroom motion"), b"garbage")  # heard, even if not understood
    assert feed.tracker.stale(start + dt.timedelta(minutes=59), start) == []
    later = start + dt.timedelta(minutes=60, seconds=0.5)
    assert feed.tracker.stale(later, start) == ["301 front door"]
    assert feed.tracker.stale(later + dt.timedelta(seconds=1), start) == [
        "301 bathroom motion", "301 front door"]
    assert feed.tracker.heard_at()["301 bathroom motion"] == start + dt.timedelta(seconds=1)


def test_decode_report_names_what_is_wrong() -> None:
    assert decode_report(b'{"contact": false}') == {"contact": False}
    with pytest.raises(BadPayload, match="advanced output to json"):
        decode_report(b'"ON"')
