"""The safety rules: door and device alarms, doors held open, repeated denied access and
tailgating, each raising alerts about one device (subject ``"{building}/{device}"``).

| rule | event | severity | resolves |
|---|---|---|---|
| ``duress`` | ``duress`` | critical | by a person |
| ``tamper`` | ``tamper`` | high | by a person |
| ``door_forced`` | ``door_forced`` | high | by a person |
| ``door_held_open`` | ``door_held_open`` | warning | itself, when the door shuts |
| ``access_denied`` | ≥ N ``access_denied`` within a window | warning | itself, when quiet |
| ``tailgating`` | camera counts in > granted passages | warning | itself, when quiet |

``rules.safety.events`` explains what an alert remembers, so that an event never raises
twice and old history never raises at all. Thresholds live in
``linli.settings.SafetySettings`` (``LINLI_RULES__SAFETY__…``).
"""

from __future__ import annotations

from linli.settings import SafetySettings
from rules.framework import Rule
from rules.safety.alarms import DoorForcedRule, DoorHeldOpenRule, DuressRule, TamperRule
from rules.safety.denied import RepeatedDeniedAccessRule
from rules.safety.tailgating import TailgatingRule

__all__ = [
    "DoorForcedRule",
    "DoorHeldOpenRule",
    "DuressRule",
    "RepeatedDeniedAccessRule",
    "TailgatingRule",
    "TamperRule",
    "safety_rules",
]


def safety_rules(settings: SafetySettings) -> list[Rule]:
    """Every safety rule, duress first."""
    return [DuressRule(settings), TamperRule(settings), DoorForcedRule(settings),
            DoorHeldOpenRule(settings), RepeatedDeniedAccessRule(settings),
            TailgatingRule(settings)]
