"""Who sees which note: the principal's place and permissions, as the SQL scope says.

Mirrors ``ALERT_SCOPE`` (``api.alerts.queries``) and the devices' building scope, so that a
stream shows exactly what the list routes would.
"""

from __future__ import annotations

from api.live.models import AlertNote, DeviceNote, HealthNote, Note
from api.security import Principal
from linli.accounts import Perm


def sees_alert(principal: Principal, note: AlertNote) -> bool:
    """Alerts of one's community; for a grid worker, of their grids or dispatched to them."""
    if not principal.can(Perm.ALERTS_READ):
        return False
    if principal.community is not None and note.community != principal.community:
        return False
    if principal.grids is None:
        return True
    return (note.grid in principal.grids
            or (note.building is not None and note.building in (principal.buildings or ()))
            or (principal.worker is not None and note.assignee == principal.worker))


def sees_device(principal: Principal, note: DeviceNote) -> bool:
    """Devices of one's community and buildings."""
    if not principal.can(Perm.DEVICES_READ):
        return False
    if principal.community is not None and note.community != principal.community:
        return False
    return principal.sees_building(note.building)


def sees(principal: Principal, note: Note) -> bool:
    """Whether ``note`` goes to ``principal``'s stream; health goes to everyone."""
    if isinstance(note, AlertNote):
        return sees_alert(principal, note)
    if isinstance(note, DeviceNote):
        return sees_device(principal, note)
    return isinstance(note, HealthNote)
