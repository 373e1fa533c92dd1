"""A device registered to one building whose events arrive under another building's topic
(an agent configured with the wrong building, a device moved, another building's
credentials) is put before the installers: a dead letter with the reason, once, on the
topic's building, while its events are stored as those of an unregistered device."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from tests.integration.test_ingest_flow import T0, make_event, publisher, running_ingest
from tests.pipeline import ingest_settings, wait_for


def test_a_device_of_another_building_is_flagged_once(db: Any, db_url: str, broker: Any,
                                                      make_settings: Any) -> None:
    db.execute("INSERT INTO devices (community, building, id, kind, name, registered) VALUES "
               "('juxin', 'b01', 'b01-u1-door', 'door', '1栋1单元门禁', true), "
               "('heping', 'b03', 'b01-u1-door', 'door', NULL, true)")
    misplaced = [make_event(building="b02", occurred_at=T0 + dt.timedelta(minutes=m))
                 for m in (1, 2)]
    stranger = make_event(building="b02", device="b02-new-door")  # unknown everywhere
    at_home = make_event(occurred_at=T0 + dt.timedelta(minutes=5))  # b01's own, in b01
    settings = ingest_settings(make_settings, db_url, broker.url)
    with running_ingest(settings) as ingest, publisher(broker.url) as pub:
        pub.events([*misplaced, stranger, at_home])
        wait_for(lambda: ingest.stats.snapshot().events_written == 4)
        later = make_event(building="b02", occurred_at=T0 + dt.timedelta(minutes=9))
        pub.events([later])
        wait_for(lambda: ingest.stats.snapshot().events_written == 5)

    letters = db.execute("SELECT topic, payload, reason FROM dead_letters").fetchall()
    assert len(letters) == 1, letters  # once per device and building, not per event
    (letter,) = letters
    assert letter["topic"] == "linli/v1/juxin/b02/b01-u1-door/events"  # b02's installers see it
    assert "b01-u1-door is registered to building b01 of juxin" in letter["reason"]
    assert "under building b02" in letter["reason"]
    note = json.loads(bytes(letter["payload"]))
    assert (note["device"], note["registered_in"], note["topic_building"]) == (
        "b01-u1-door", "b01", "b02")  # heping's b03 is another community: not named
    devices = {(r["building"], r["id"]): r for r in db.execute(
        "SELECT building, id, registered, last_event_at FROM devices WHERE community = 'juxin'")}
    assert devices[("b02", "b01-u1-door")]["registered"] is False
    assert devices[("b02", "b01-u1-door")]["last_event_at"] == later.occurred_at
    assert devices[("b01", "b01-u1-door")]["registered"] is True
    assert devices[("b02", "b02-new-door")]["registered"] is False
    stored = db.execute("SELECT building, count(*) AS n FROM events "
                        "WHERE device = 'b01-u1-door' GROUP BY building ORDER BY 1").fetchall()
    assert [(r["building"], r["n"]) for r in stored] == [("b01", 1), ("b02", 3)]
