"""Hikvision access-control event codes (``major.minor``) → what they mean for Linli.

The table follows the HCNetSDK / ISAPI minor types of major 5 (events), 3 (operations) and
1 (alarms: the terminal's and its readers' tamper switches, the duress alarm).
Devices differ — one DS-K1T342MWX firmware writes its door contact under 5.23/5.24, the
SDK's exit-button press and release — so a source's ``codes`` (from its device profile or
its own configuration) override any entry here. A code in neither is unknown: the record
is kept in the rejects with the code named, and the stream goes on.

Which input reports what depends on the model and its firmware, so a source picks a table
(``code_table``, set by its profile): ``sdk`` follows the SDK (5.23/5.24 exit button),
``door-contact`` is for terminals that write the door contact under 5.23/5.24.

Routine operations the terminals log by the hundred — clock synchronisation, logins,
arming, configuration reads — mean nothing for Linli: they are read and counted as
ignored (``ROUTINE_CODES``), never sent to the rejects file.
"""

from __future__ import annotations

from collections.abc import Mapping

from edge.vendors.codes import CodeMeaning, CodeTarget, resolve
from linli.contract import Credential, EventKind

__all__ = ["DEFAULT_CODES", "ROUTINE_CODES", "TABLES", "code_meaning"]

_PASS = EventKind.PASSAGE
_DENY = EventKind.ACCESS_DENIED

DEFAULT_CODES: Mapping[str, CodeMeaning] = {
    "5.1": CodeMeaning(_PASS, Credential.CARD),
    "5.2": CodeMeaning(_PASS, Credential.CARD),            # card and password
    "5.3": CodeMeaning(_DENY, Credential.CARD, "card_password_wrong"),
    "5.6": CodeMeaning(_DENY, Credential.CARD, "no_permission"),
    "5.7": CodeMeaning(_DENY, Credential.CARD, "outside_schedule"),
    "5.8": CodeMeaning(_DENY, Credential.CARD, "card_expired"),
    "5.9": CodeMeaning(_DENY, Credential.CARD, "invalid_card"),
    "5.10": CodeMeaning(_DENY, None, "anti_passback"),
    "5.21": CodeMeaning(EventKind.DOOR_OPENED, signal="lock"),
    "5.22": CodeMeaning(EventKind.DOOR_CLOSED, signal="lock"),
    "5.23": CodeMeaning(EventKind.EXIT_BUTTON, Credential.EXIT_BUTTON, signal="button"),
    "5.24": CodeMeaning(None, signal="button"),             # exit button released
    "5.25": CodeMeaning(EventKind.DOOR_OPENED, signal="contact"),
    "5.26": CodeMeaning(EventKind.DOOR_CLOSED, signal="contact"),
    "5.27": CodeMeaning(EventKind.DOOR_FORCED, signal="contact"),
    "5.28": CodeMeaning(EventKind.DOOR_HELD_OPEN, signal="contact"),
    "5.38": CodeMeaning(_PASS, Credential.FINGERPRINT),
    "5.39": CodeMeaning(_DENY, Credential.FINGERPRINT, "fingerprint_mismatch"),
    "5.75": CodeMeaning(_PASS, Credential.FACE),
    "5.76": CodeMeaning(_DENY, Credential.FACE, "face_mismatch"),
    "5.80": CodeMeaning(_DENY, Credential.FACE, "face_not_recognised"),
    "1.1028": CodeMeaning(EventKind.TAMPER, signal="terminal"),   # host dismantled
    "1.1029": CodeMeaning(None),                                 # ... and put back
    "1.1030": CodeMeaning(EventKind.TAMPER, signal="reader"),     # card reader dismantled
    "1.1031": CodeMeaning(None),                                 # ... and put back
    "1.1034": CodeMeaning(EventKind.DURESS),                      # stress (duress) alarm
    "3.1024": CodeMeaning(EventKind.DOOR_OPENED, Credential.REMOTE, signal="remote"),
}

ROUTINE_CODES: Mapping[str, str] = {
    "3.80": "local login",
    "3.81": "local logout",
    "3.112": "remote login",
    "3.113": "remote logout",
    "3.118": "remote: read parameters",
    "3.119": "remote: set parameters",
    "3.120": "remote: read status",
    "3.121": "remote arming",
    "3.122": "remote disarming",
    "3.1028": "remote clock synchronisation (0x404)",
    "3.1029": "NTP clock synchronisation (0x405)",
    "3.1032": "alarm input armed (0x408)",
    "3.1033": "alarm input disarmed (0x409)",
}
"""Operation codes (major 3, HCNetSDK ``MINOR_*``) of routine housekeeping: ignored."""

_SDK: Mapping[str, CodeMeaning] = {
    **{code: CodeMeaning(None) for code in ROUTINE_CODES}, **DEFAULT_CODES}

TABLES: Mapping[str, Mapping[str, CodeMeaning]] = {
    "sdk": _SDK,
    "door-contact": {
        **_SDK,
        "5.23": CodeMeaning(EventKind.DOOR_OPENED, signal="contact"),
        "5.24": CodeMeaning(EventKind.DOOR_CLOSED, signal="contact"),
    },
}
"""The code tables a profile chooses from (``code_table``)."""


def code_meaning(major: int, minor: int, overrides: Mapping[str, CodeTarget],
                 table: str = "sdk") -> CodeMeaning | None:
    """What ``major.minor`` means on this device; None when nobody knows the code."""
    return resolve(f"{major}.{minor}", TABLES[table], overrides)
