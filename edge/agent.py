"""The building's edge agent: one thread per source, one publisher, one spool.

``run_agent(config, settings, stop)`` runs until ``stop`` is set, then stops reading,
gives in-flight messages a few seconds to be acknowledged, publishes its offline status
and disconnects; whatever was not acknowledged stays in the spool for the next start.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from edge.config import AgentConfig
from edge.publisher import OFFLINE_WILL, Publisher
from edge.rejects import RejectsFile
from edge.sources import EdgeSource, SourceContext, build_source
from edge.spool import Spool
from linli.mqtt import new_session, parse_broker_url
from linli.settings import Settings
from linli.topics import building_stored_subscription, status_topic

log = logging.getLogger(__name__)

SOURCE_JOIN_TIMEOUT_S = 10.0
STATUS_HEADROOM = 64
"""paho in-flight slots kept beyond ``max_inflight`` for the agent's and its devices'
status messages."""


def _file_stem(config: AgentConfig) -> str:
    return f"{config.community}-{config.building}-{config.agent_id}"


def spool_path(config: AgentConfig, settings: Settings) -> Path:
    """The agent's SQLite spool: ``{spool_dir}/spool-{community}-{building}-{agent_id}.db``."""
    return settings.edge.spool_dir / f"spool-{_file_stem(config)}.db"


def rejects_path(config: AgentConfig, settings: Settings) -> Path:
    """The agent's rejected lines: ``{spool_dir}/rejects-{community}-{building}-{agent_id}.jsonl``."""
    return settings.edge.spool_dir / f"rejects-{_file_stem(config)}.jsonl"


def agent_status_topic(config: AgentConfig) -> str:
    """Where the agent's retained status (and its last-will) goes."""
    return status_topic(config.community, config.building, config.agent_id)


class EdgeAgent:
    """Wires the sources, the spool and the publisher of one building's agent."""

    def __init__(self, config: AgentConfig, settings: Settings) -> None:
        broker = parse_broker_url(settings.require_mqtt_url())
        self.config = config
        mb = settings.edge.spool_max_mb
        self.spool = Spool(spool_path(config, settings),
                           max_bytes=None if mb is None else int(mb * 1_000_000))
        self.rejects = RejectsFile(rejects_path(config, settings))
        topic = agent_status_topic(config)
        self.session = session = new_session(
            broker,
            f"linli-edge-{_file_stem(config)}",
            will=(topic, OFFLINE_WILL),
        )
        session.client.max_inflight_messages_set(settings.edge.max_inflight + STATUS_HEADROOM)
        self.publisher = Publisher(
            self.spool,
            session,
            status_topic=topic,
            max_inflight=settings.edge.max_inflight,
            status_interval_s=settings.edge.status_interval_s,
            health=self.health,
            device_statuses=self.device_statuses,
            receipts_topic=(building_stored_subscription(config.community, config.building)
                            if settings.edge.receipts else None),
        )
        self.stopping = threading.Event()
        context = SourceContext(config.community, config.building, self.spool, self.rejects,
                                settings.edge, self.publisher.wake, self.stopping)
        self.sources: list[EdgeSource] = [build_source(source, context)
                                          for source in config.sources]

    def health(self) -> dict[str, Any]:
        """Per-source health for the status message, keyed by device."""
        return {source.device: source.health() for source in self.sources}

    def device_statuses(self) -> dict[str, dict[str, Any]]:
        """The status documents of the sources that stand for a device, by status topic."""
        statuses: dict[str, dict[str, Any]] = {}
        for source in self.sources:
            document = source.device_status()
            if document is not None:
                statuses[status_topic(self.config.community, self.config.building,
                                      source.device)] = document
        return statuses

    def run(self, stop: threading.Event) -> None:
        """Run until ``stop`` is set, then shut down cleanly."""
        log.info("edge agent %s/%s/%s: %d sources, spool %s", self.config.community,
                 self.config.building, self.config.agent_id, len(self.sources), self.spool.path)
        threads = [
            threading.Thread(target=source.run, args=(stop,), daemon=True,
                             name=f"edge-source-{source.device}")
            for source in self.sources
        ]
        try:
            for thread in threads:
                thread.start()
            self.publisher.run(stop)
        finally:
            stop.set()
            self.stopping.set()
            for thread in threads:
                thread.join(SOURCE_JOIN_TIMEOUT_S)
            try:
                self.publisher.shutdown()
                log.info("edge agent stopped; %d messages stay spooled", self.spool.depth())
            except Exception as exc:
                log.error("edge agent stopped with an error: %s", exc)
            finally:
                self.spool.close()


def run_agent(config: AgentConfig, settings: Settings, stop: threading.Event) -> None:
    """Run one building's edge agent in this thread until ``stop`` is set."""
    EdgeAgent(config, settings).run(stop)
