"""Live updates: ``GET /api/v1/stream``, Server-Sent Events of alerts, devices and health.

One LISTEN connection per API process (``hub.LiveHub``) fans PostgreSQL notifications
(migration 0005's triggers) out to a bounded queue per open stream; each stream shows only
what its principal may see (``scope``).
"""
