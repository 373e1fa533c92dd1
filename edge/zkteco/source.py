"""The factories of the ZKTeco source types (``edge.sources.FACTORIES``)."""

from __future__ import annotations

from edge.sources import SourceContext
from edge.zkteco.config import ZktecoPushSource, ZktecoTcpSource
from edge.zkteco.push import ZktecoPushEdgeSource
from edge.zkteco.tcp import ZktecoTcpEdgeSource


def make_push_source(config: ZktecoPushSource, context: SourceContext) -> ZktecoPushEdgeSource:
    """The source for ``type: zkteco-push``: a terminal posting to the agent's listener."""
    return ZktecoPushEdgeSource(config, context)


def make_tcp_source(config: ZktecoTcpSource, context: SourceContext) -> ZktecoTcpEdgeSource:
    """The source for ``type: zkteco-tcp``: a terminal the agent connects to on port 4370."""
    return ZktecoTcpEdgeSource(config, context)
