"""Pieces shared by the adapters of vendor terminals spoken to over HTTP (Hikvision ISAPI,
Dahua CGI): a multipart stream parser that trusts boundaries rather than lengths, digest
authentication for the agent's own listeners, a clock-drift gauge, record checkpoints and
de-duplication, and the reconnecting source loop both adapters run on.
"""
