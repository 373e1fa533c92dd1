"""Vendor event codes → Linli kinds: the shape of a code table and how overrides apply.

Each vendor keeps its table of what its codes mean (``edge/hikvision/codes.py``,
``edge/dahua/codes.py``), keyed by the code as text (``"5.75"``, ``"BreakIn"``). A source's
``codes`` (from its device profile or its own configuration) override entries or add new
ones: a kind, or ``ignore`` for a code that is read and counted but not sent. A code in
neither is unknown, and the record goes to the rejects naming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from linli.contract import Credential, EventKind

__all__ = ["PERSON_KINDS", "CodeMeaning", "CodeTarget", "resolve"]

PERSON_KINDS = (EventKind.PASSAGE, EventKind.ACCESS_DENIED)
"""Kinds that stand for a person presenting a credential."""

CodeTarget = EventKind | Literal["ignore"]
"""What a vendor code becomes: one of our kinds, or ``ignore`` (read, counted, not sent)."""


@dataclass(frozen=True, slots=True)
class CodeMeaning:
    """A code's kind (None: ignored), its credential, a denial reason, the door signal."""

    kind: EventKind | None
    credential: Credential | None = None
    reason: str | None = None
    signal: str | None = None

    def note(self, attrs: dict[str, Any], *, card: str | None,
             drift_s: float | None) -> dict[str, Any]:
        """Add what every vendor's event keeps in ``attrs``: the card's last digits (enough
        to tell cards apart, not to clone one), the reason, the door signal, clock drift."""
        if card:
            attrs["card_tail"] = card[-4:]
        if self.reason:
            attrs["reason"] = self.reason
        if self.signal:
            attrs["signal"] = self.signal
        if drift_s is not None:
            attrs["drift_s"] = drift_s
        return attrs


def resolve(code: str, table: Mapping[str, CodeMeaning],
            overrides: Mapping[str, CodeTarget]) -> CodeMeaning | None:
    """What ``code`` means on this device; None when neither table nor overrides know it."""
    default = table.get(code)
    override = overrides.get(code)
    if override is None:
        return default
    if override == "ignore":
        return CodeMeaning(None)
    kind = EventKind(override)
    if default is None:
        return CodeMeaning(kind, Credential.EXIT_BUTTON if kind is EventKind.EXIT_BUTTON
                           else None)
    if default.kind is kind:
        return default
    # The override changes what the code means, not what it was read from: the door signal
    # (lock, contact, tamper) stays, and so does the credential of a read that becomes a
    # person at the door (a face match mapped to a passage is still a face).
    if kind is EventKind.EXIT_BUTTON:
        credential: Credential | None = Credential.EXIT_BUTTON
    elif kind in PERSON_KINDS and default.credential is not Credential.EXIT_BUTTON:
        credential = default.credential
    else:
        credential = None
    return CodeMeaning(kind, credential, signal=default.signal)
