"""The ``sensor-mqtt`` source's configuration: the documented example loads, each signal gets
its rule, mistakes name their field, and the broker's password never shows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from edge.config import load_agent_config, parse_agent_config
from edge.sensor.config import Rule, SensorMqttSource, mask_broker_url
from linli.errors import ConfigError

EXAMPLE = """\
community: juxin
building: b03
sources:
  - type: sensor-mqtt
    device: h301-gateway
    url: mqtt://linli:s3cret-pw@192.168.10.2:1883
    base_topic: zigbee2mqtt
    min_interval_s: 60
    sensors:
      - {name: 301 bathroom motion, device: h301-motion, household: h-301, signal: motion}
      - {name: 301 front door, device: h301-door, household: h-301, signal: contact}
      - {name: 301 kettle, device: h301-kettle, person: r-0042, signal: power, above: 200}
      - {name: 301 call button, device: h301-button, person: r-0042, signal: button}
      - {name: 301 water meter, device: h301-water, person: r-0042, signal: water,
         topic: meters/301, field: flow_lpm, above: 0}
"""


def source(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "type": "sensor-mqtt", "device": "h301-gateway", "url": "mqtt://127.0.0.1:1884",
        "sensors": [{"name": "301 motion", "device": "h301-motion", "household": "h-301",
                     "signal": "motion"}]}
    return base | changes


def sensor(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"name": "s", "device": "h301-s", "household": "h-301",
                            "signal": "motion"}
    return {key: value for key, value in (base | changes).items() if value is not None}


def test_the_documented_example_loads(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text(EXAMPLE, encoding="utf-8")
    (gateway,) = load_agent_config(path).sources
    assert isinstance(gateway, SensorMqttSource)
    assert gateway.bridge_topic == "zigbee2mqtt/bridge/state"
    rules = {s.name: (gateway.topic_of(s), s.rule) for s in gateway.sensors}
    assert rules == {
        "301 bathroom motion": ("zigbee2mqtt/301 bathroom motion", Rule("occupancy", "equals", True)),
        "301 front door": ("zigbee2mqtt/301 front door", Rule("contact", "change")),
        "301 kettle": ("zigbee2mqtt/301 kettle", Rule("power", "above", 200.0)),
        "301 call button": ("zigbee2mqtt/301 call button", Rule("action", "present")),
        "301 water meter": ("meters/301", Rule("flow_lpm", "above", 0.0)),
    }
    assert (gateway.min_interval_s, gateway.max_per_hour, gateway.stale_after_s) == (60, 60, 21600)
    assert gateway.time_field == "last_seen" and gateway.protocol == "3.1.1"


@pytest.mark.parametrize(("fields", "rule"), [
    ({"signal": "motion", "field": "presence"}, Rule("presence", "equals", True)),
    ({"signal": "power"}, Rule("power", "above", 10.0)),
    ({"signal": "water", "field": "volume_l", "increases": True}, Rule("volume_l", "increases")),
    ({"signal": "field", "field": "data.state", "equals": "open"},
     Rule("data.state", "equals", "open")),
    ({"signal": "field", "field": "pir", "equals": 1}, Rule("pir", "equals", 1)),
    ({"signal": "contact", "field": "door_state"}, Rule("door_state", "change")),
])
def test_signals_get_their_rules(fields: dict[str, Any], rule: Rule) -> None:
    config = SensorMqttSource.model_validate(source(sensors=[sensor(**fields)]))
    assert config.sensors[0].rule == rule
    assert type(config.sensors[0].rule.value) is type(rule.value)  # 1 stays 1, not True


@pytest.mark.parametrize(("change", "error"), [
    ({"sensors": [sensor(person="r-1")]}, "exactly one"),
    ({"sensors": [sensor(household=None)]}, "exactly one"),
    ({"sensors": [sensor(household="h 301")]}, "sensors.0.household"),
    ({"sensors": [sensor(signal="water", above=0)]}, "needs field"),
    ({"sensors": [sensor(signal="water", field="flow")]}, "needs a condition: above or increases"),
    ({"sensors": [sensor(signal="motion", above=3)]}, "accepts only equals, not above"),
    ({"sensors": [sensor(signal="contact", equals=True)]}, "takes no condition"),
    ({"sensors": [sensor(signal="field", field="x", above=1, increases=True)]},
     "one condition, not above and increases"),
    ({"sensors": [sensor(signal="smell")]}, "sensors.0.signal"),
    ({"sensors": [sensor(name="301/+/motion")]}, "wildcards"),
    ({"sensors": [sensor(name="/301")]}, "must not start or end"),
    ({"sensors": [sensor(device="H301 Motion")]}, "sensors.0.device"),
    ({"sensors": [sensor(colour="red")]}, "sensors.0.colour"),
    ({"sensors": [sensor(), sensor(device="h301-t")]}, "sensors named twice"),
    ({"sensors": [sensor(device="h301-gateway")]}, "is the gateway's"),
    ({"sensors": [sensor(name="bridge/state")]}, "gateway's own state"),
    ({"base_topic": ""}, "every sensor needs its topic"),
    ({"sensors": []}, "sensors"),
    ({"url": "http://127.0.0.1:1884"}, "mqtt:// or mqtts://"),
    ({"url": "mqtt://:1884"}, "no host"),
    ({"protocol": 4}, "protocol"),
    ({"min_interval_s": -1}, "min_interval_s"),
    ({"max_per_hour": 0}, "max_per_hour"),
])
def test_mistakes_name_their_field(change: dict[str, Any], error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        SensorMqttSource.model_validate(source(**change))


def test_a_gateway_without_base_topic_has_no_bridge() -> None:
    config = SensorMqttSource.model_validate(source(base_topic="", sensors=[
        sensor(topic="meters/301", signal="water", field="flow", above=0)]))
    assert config.bridge_topic is None
    assert config.topic_of(config.sensors[0]) == "meters/301"
    assert SensorMqttSource.model_validate(source(protocol=5)).protocol == "5"


@pytest.mark.parametrize("url", [
    "mqtt://linli:s3cret-pw@192.168.10.2:1883",
    "mqtts://linli:s3cret-pw@gw.local",
    "mqtt://linli:s3cret-pw@192.168.10.2:99999",  # malformed port
    "mqtt://linli:s3cret-pw@192.168.10.2/path",
])
def test_the_password_never_shows(url: str) -> None:
    try:
        config = SensorMqttSource.model_validate(source(url=url))
    except ValidationError as exc:
        shown = str(exc)
        with pytest.raises(ConfigError) as refused:  # what `linli edge --check` prints
            parse_agent_config({"community": "c", "building": "b", "sources": [source(url=url)]})
        shown += str(refused.value)
        assert "url" in shown
    else:
        shown = f"{config!r} {config.masked_url}"
        assert config.masked_url.startswith(url.split(":", 1)[0] + "://linli:***@")
    assert "s3cret" not in shown


def test_masking_survives_an_unencoded_at_sign() -> None:
    assert mask_broker_url("mqtt://linli:p@ss@10.0.0.2:1883") == "mqtt://linli:***@10.0.0.2:1883"
    assert mask_broker_url("mqtt://10.0.0.2:1883") == "mqtt://10.0.0.2:1883"


def test_sensor_devices_cannot_clash_with_other_sources(tmp_path: Path) -> None:
    second = ("  - {type: sensor-mqtt, device: h302-gateway, url: 'mqtt://10.0.0.3',"
              " sensors: [{name: m, device: h301-motion, household: h-302, signal: motion}]}\n")
    path = tmp_path / "agent.yaml"
    path.write_text(EXAMPLE + second, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"two sources claim the same device: \['h301-motion'\]"):
        load_agent_config(path)
    # one sensor device with two signals (a multi-sensor) is one device, not a clash
    multi = EXAMPLE.replace("device: h301-door", "device: h301-motion")
    path.write_text(multi, encoding="utf-8")
    assert len(load_agent_config(path).sources) == 1
