"""ZKTeco access-control terminals as sources of the edge agent.

Two ways in, one mapping: ``zkteco-push`` (``push.py``: the terminal posts PUSH/ADMS
"iclock" requests to the agent's shared HTTP listener, ``listener.py``) and ``zkteco-tcp``
(``tcp.py``: the agent connects to the terminal's port 4370 and speaks the binary protocol,
``protocol.py``, ``layouts.py``, ``session.py``). Punches, alarms and operations become
contract events in ``mapping.py``; ``config.py`` holds both source models.
"""
