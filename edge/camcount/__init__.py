"""Cameras that count people themselves: Hikvision ISAPI and Dahua people counting read as
``camera`` passage events (``hikvision-counting``, ``dahua-counting``)."""
