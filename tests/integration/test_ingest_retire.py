"""Retiring an ingest replica: what the broker kept for it is stored, and later events all
go to the replicas that remain instead of queueing for a session that never returns."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

from ingest.service import run_ingest
from ingest.stats import IngestStats
from linli.embedded import EmbeddedMosquitto
from linli.settings import Settings
from tests.integration.test_ingest_flow import T0, count, make_event, publisher, running_ingest
from tests.pipeline import IngestRunner, ingest_settings, wait_for


def test_a_retired_replica_stores_its_share_and_gets_no_more(
        db: Any, db_url: str, broker: EmbeddedMosquitto,
        make_settings: Callable[..., Settings]) -> None:
    staying = ingest_settings(make_settings, db_url, broker.url, client_id="ingest-a")
    leaving = ingest_settings(make_settings, db_url, broker.url, client_id="ingest-b")
    IngestRunner(leaving).start().stop()  # its session and shared subscription stay behind
    first = [make_event(occurred_at=T0 + dt.timedelta(seconds=i)) for i in range(200)]
    later = [make_event(occurred_at=T0 + dt.timedelta(minutes=5, seconds=i)) for i in range(100)]

    with running_ingest(staying), publisher(broker.url) as pub:
        pub.events(first)
        retired = IngestStats()
        # each phase ends after the default idle time (3 s), not 0.5 s: a stall of a busy
        # machine must not end one while the broker is still sending what it kept
        run_ingest(leaving, threading.Event(), stats=retired, retire=True)
        # the broker had dealt the away session its share, and kept it for it
        assert 0 < retired.snapshot().messages < len(first)
        wait_for(lambda: count(db, "SELECT count(*) FROM events") == len(first), 20)
        pub.events(later)
        wait_for(lambda: count(db, "SELECT count(*) FROM events") == len(first) + len(later),
                 20, "every later event stored by the replica that stayed")
    assert count(db, "SELECT count(DISTINCT event_id) FROM events") == len(first) + len(later)
