"""Dahua access events → what they mean for Linli.

An ``AccessControl`` event is a door opening decided by the terminal: its code key is
``AccessControl.`` + ``granted``/``denied`` (from ``Status``), or ``remote`` / ``button``
when ``Method`` says the door was opened from the platform or by the exit button. Door
state comes as ``DoorStatus`` with ``Status`` ``Open``/``Close``; alarms as their own codes:
``BreakIn`` (the door opened without a credential: forced) and ``DoorNotClosed`` (left
open too long). ``AlarmLocal`` is a generic alarm input whose meaning depends on the
wiring, so it is ignored unless a profile says what it is.

Face terminals (ASI) and door stations (VTO) also report the credential read on its own,
just before the ``AccessControl`` event that carries the terminal's decision:
``_DoorFace_`` (a face matched: ``UserID``, ``Similarity``, ``readID``, no time) and
``DoorCard`` (a card swiped: ``Number``). Counting them as passages would count every
opening twice, so they are read and ignored unless a profile maps them (a VTO without the
access-control module reports only ``DoorCard``); mapped, they keep their credential, the
card's last digits and the reader. ``Duress`` is the duress finger or code.
"""

from __future__ import annotations

from collections.abc import Mapping

from edge.vendors.codes import CodeMeaning
from linli.contract import Credential, EventKind

__all__ = ["DEFAULT_CODES", "METHODS"]

DEFAULT_CODES: Mapping[str, CodeMeaning] = {
    "AccessControl.granted": CodeMeaning(EventKind.PASSAGE),
    "AccessControl.denied": CodeMeaning(EventKind.ACCESS_DENIED, reason="denied"),
    "AccessControl.remote": CodeMeaning(EventKind.DOOR_OPENED, Credential.REMOTE,
                                        signal="remote"),
    "AccessControl.button": CodeMeaning(EventKind.EXIT_BUTTON, Credential.EXIT_BUTTON),
    "DoorStatus.Open": CodeMeaning(EventKind.DOOR_OPENED, signal="contact"),
    "DoorStatus.Close": CodeMeaning(EventKind.DOOR_CLOSED, signal="contact"),
    "BreakIn": CodeMeaning(EventKind.DOOR_FORCED, signal="contact"),
    "DoorNotClosed": CodeMeaning(EventKind.DOOR_HELD_OPEN, signal="contact"),
    "ChassisIntruded": CodeMeaning(EventKind.TAMPER, signal="tamper"),  # case opened
    "AlarmLocal": CodeMeaning(None),
    "Duress": CodeMeaning(EventKind.DURESS),
    "DoorCard": CodeMeaning(None, Credential.CARD),
    "_DoorFace_": CodeMeaning(None, Credential.FACE),
}

METHODS: Mapping[int, Credential] = {
    0: Credential.PIN,
    1: Credential.CARD,
    2: Credential.CARD,          # card, then password
    3: Credential.CARD,          # password, then card
    4: Credential.REMOTE,
    5: Credential.EXIT_BUTTON,
    6: Credential.FINGERPRINT,
    14: Credential.QR,
    15: Credential.FACE,
}
"""``Method`` of an AccessControl event or record → how the door was opened."""
