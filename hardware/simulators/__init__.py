"""Simulated vendor terminals speaking their real protocols over real sockets (Hikvision
ISAPI, Dahua CGI, ZKTeco …), for the tests and ``linli demo``."""
