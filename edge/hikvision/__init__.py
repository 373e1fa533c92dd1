"""Hikvision access terminals over ISAPI: the alertStream or HTTP push, and the AcsEvent
search to catch up (``source.make_source``; configuration in ``config``)."""
