"""Linli (邻里): what every stage shares — settings, the event contract, topics, database
access, MQTT helpers, migrations and the ``linli`` command line.

Stages (``edge``, ``ingest``, ``rules``, ``api``, ``hardware``) import this package and
never each other.
"""

__version__ = "0.1.0"
