"""The audit log: who read or changed what, as one named statement every stage shares.

Actions are dotted verbs: ``auth.login``-style names are written as ``login``,
``login_failed`` and ``logout``; reads of personal data as ``read.resident``,
``read.contacts``, ``read.events`` …; alert steps as ``alert.<action>``; account changes as
``user.<action>``. ``target`` names the thing (``resident:juxin/r-001``, ``alert:12``,
``user:wang``); ``detail`` never holds a password, token or notify URL.
"""

from __future__ import annotations

INSERT_AUDIT = """
INSERT INTO audit_log (user_id, username, role, community, action, target, via, ip, detail)
VALUES (%(user_id)s, %(username)s, %(role)s, %(community)s, %(action)s, %(target)s,
        %(via)s, %(ip)s, %(detail)s)
"""
