"""Dahua access terminals over their HTTP CGI: the eventManager stream, and recordFinder
to catch up (``source.make_source``; configuration in ``config``)."""
