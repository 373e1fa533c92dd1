"""The steps of an alert's closed loop that people take: dispatch (派单 / 转办),
acknowledge, on-site feedback (核查反馈), review (考核评价), archive (归档).

Each step is one transaction: the step's UPDATE (it matches only an alert in a state that
allows the step), a timeline row by the logged-in person (``data`` carries ``via`` and
``role``), the same step in the audit log as ``alert.<action>``, and the pushes it
causes, queued for the rules service's notifier, each ending with the recipient's link
(``linli.pushes``). When the UPDATE matches nothing, the alert's state says why: 409.

Who may: the control room dispatches, reviews and archives (``alerts:dispatch``); the
control room and grid workers acknowledge and file feedback (``alerts:handle``), a grid
worker only on an alert dispatched to them or to nobody yet (it then becomes theirs).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import psycopg
from psycopg.types.json import Jsonb

from api import audit
from api.alerts import queries
from api.alerts.models import (
    VISITED_OUTCOMES,
    AlertAcknowledge,
    AlertArchive,
    AlertDetail,
    AlertDispatch,
    AlertFeedback,
    AlertReview,
    Decision,
)
from api.alerts.service import acting_worker, alert_state, get_alert, require_own
from api.deps import Conn
from api.errors import Conflict, InvalidInput
from api.security import Principal
from linli import alerts as shared
from linli import pushes
from linli.contract import utc_now
from linli.pushes import PushText
from linli.settings import Settings

PushMaker = Callable[[str | None], PushText]
"""Builds a push in the recipient's language."""


async def dispatch(*, conn: Conn, alert_id: int, request: AlertDispatch, principal: Principal,
                   settings: Settings) -> AlertDetail:
    """派单 to a named grid worker; to another than the current assignee (转办) only with a
    reason. The worker is told by a push."""
    state = await alert_state(conn, alert_id, principal)
    current = state["assignee"]
    worker = await _recipient(conn, state["community"], request.worker)
    if worker is None or worker["role"] != "grid_worker":
        raise InvalidInput.for_field(
            "worker", "body", f"no active grid worker {request.worker!r} in community "
                              f"{state['community']!r}")
    if current == request.worker:
        raise Conflict(f"alert {alert_id} is already dispatched to {request.worker!r}")
    redispatch = current is not None
    if redispatch and request.reason is None:
        raise InvalidInput.for_field("reason", "body",
                                     "re-dispatching to another worker (转办) needs a reason")
    action = "redispatched" if redispatch else "dispatched_to"
    async with conn.transaction():
        cur = await conn.execute(queries.DISPATCH, {
            "alert_id": alert_id, "worker": request.worker, "current": current,
            "max_tier": settings.rules.max_tier,
            "escalate_after": dt.timedelta(minutes=settings.rules.escalate_after_min)})
        if await cur.fetchone() is None:
            await _refuse(conn, alert_id, principal, "dispatched")

        def make(locale: str | None) -> PushText:
            kind = "redispatched" if redispatch else "dispatched"
            body = pushes.text(f"{kind}.body", locale, actor=principal.display_name,
                               alert_id=alert_id, reason=request.reason or "")
            if request.note:
                body += "\n" + pushes.text("note", locale, note=request.note)
            return PushText(title=pushes.text(f"{kind}.title", locale, title=state["title"]),
                            body=body)

        queued = await _push(conn, settings, state, request.worker, make)
        data: dict[str, Any] = {"worker": request.worker, "worker_name": worker["name"],
                                "notifications": queued}
        if redispatch:
            data |= {"from": current, "reason": request.reason}
        await _add_timeline(conn, state, principal, action, request.note or request.reason,
                            data)
    return await get_alert(conn=conn, alert_id=alert_id, principal=principal)


async def acknowledge(*, conn: Conn, alert_id: int, request: AlertAcknowledge,
                      principal: Principal, settings: Settings) -> AlertDetail:
    """Take an open alert on: stops its escalation, starts the feedback deadline."""
    state = await alert_state(conn, alert_id, principal)
    require_own(state, principal)
    async with conn.transaction():
        cur = await conn.execute(shared.ACKNOWLEDGE, {
            "alert_id": alert_id, "actor": principal.username,
            "worker": acting_worker(principal), "feedback_due": _feedback_due(settings)})
        row = await cur.fetchone()
        if row is None:
            await _refuse(conn, alert_id, principal, "acknowledged")
        await _add_timeline(conn, state, principal, "acknowledged", request.note,
                            {"assignee": row["assignee"]})
    return await get_alert(conn=conn, alert_id=alert_id, principal=principal)


async def feedback(*, conn: Conn, alert_id: int, request: AlertFeedback,
                   principal: Principal) -> AlertDetail:
    """核查反馈: the outcome found on site closes the alert; ``safe`` and ``hospital`` record
    that a person saw the resident."""
    state = await alert_state(conn, alert_id, principal)
    require_own(state, principal)
    photos = sorted(set(request.photos))
    if photos:
        cur = await conn.execute(queries.ALERT_PHOTOS, {"alert_id": alert_id})
        known = {r["id"] for r in await cur.fetchall()}
        if missing := [p for p in photos if p not in known]:
            raise InvalidInput.for_field("photos", "body",
                                         f"no photo {missing} uploaded to alert {alert_id}")
    async with conn.transaction():
        cur = await conn.execute(queries.FEEDBACK, {
            "alert_id": alert_id, "actor": principal.username, "note": request.note,
            "outcome": request.outcome.value, "visited": request.outcome in VISITED_OUTCOMES,
            "worker": acting_worker(principal)})
        if await cur.fetchone() is None:
            await _refuse(conn, alert_id, principal, "given feedback")
        await _add_timeline(conn, state, principal, "feedback", request.note,
                            {"outcome": request.outcome.value, "photos": photos})
    return await get_alert(conn=conn, alert_id=alert_id, principal=principal)


async def review(*, conn: Conn, alert_id: int, request: AlertReview, principal: Principal,
                 settings: Settings) -> AlertDetail:
    """考核评价: accept the feedback, or return it for rework (the assignee is told, with a
    new deadline)."""
    if request.decision is Decision.RETURNED and request.note is None:
        raise InvalidInput.for_field("note", "body", "returning feedback needs a note saying why")
    state = await alert_state(conn, alert_id, principal)
    accepted = request.decision is Decision.ACCEPTED
    try:
        async with conn.transaction():
            cur = await conn.execute(
                queries.ACCEPT if accepted else queries.RETURN_FOR_REWORK,
                {"alert_id": alert_id, "actor": principal.username,
                 "feedback_due": _feedback_due(settings)})
            row = await cur.fetchone()
            if row is None:
                await _refuse(conn, alert_id, principal, "reviewed")
            data: dict[str, Any] = {"decision": request.decision.value}
            if not accepted and row["assignee"] is not None:
                data["notifications"] = await _push(
                    conn, settings, state, row["assignee"],
                    _returned_push(state, principal, request.note or "", row["feedback_due_at"]),
                    numbered=True)
            await _add_timeline(conn, state, principal, request.decision.value, request.note,
                                data)
    except psycopg.errors.UniqueViolation as exc:
        raise Conflict(f"alert {alert_id} cannot be returned: a newer alert about the same "
                       f"subject is active") from exc
    return await get_alert(conn=conn, alert_id=alert_id, principal=principal)


async def archive(*, conn: Conn, alert_id: int, request: AlertArchive,
                  principal: Principal) -> AlertDetail:
    """归档 a closed alert whose feedback was accepted, or that closed by itself."""
    state = await alert_state(conn, alert_id, principal)
    async with conn.transaction():
        cur = await conn.execute(queries.ARCHIVE,
                                 {"alert_id": alert_id, "actor": principal.username})
        if await cur.fetchone() is None:
            await _refuse(conn, alert_id, principal, "archived")
        await _add_timeline(conn, state, principal, "archived", request.note, {})
    return await get_alert(conn=conn, alert_id=alert_id, principal=principal)


def _feedback_due(settings: Settings) -> dt.timedelta:
    return dt.timedelta(minutes=settings.rules.feedback_due_min)


def _returned_push(state: dict[str, Any], principal: Principal, note: str,
                   due: dt.datetime) -> PushMaker:
    tz = _zone(state["timezone"])

    def make(locale: str | None) -> PushText:
        return PushText(
            title=pushes.text("returned.title", locale, title=state["title"]),
            body=pushes.text("returned.body", locale, actor=principal.display_name,
                             alert_id=state["id"], note=note,
                             due=pushes.local_time(due, tz, locale)))

    return make


def _zone(name: str | None) -> dt.tzinfo:
    try:
        return ZoneInfo(name or "Asia/Shanghai")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Asia/Shanghai")


async def _recipient(conn: Conn, community: str, worker: str) -> dict[str, Any] | None:
    cur = await conn.execute(shared.PUSH_RECIPIENT, {"community": community, "worker": worker})
    return await cur.fetchone()


async def _push(conn: Conn, settings: Settings, state: dict[str, Any], worker: str,
                make: PushMaker, *, numbered: bool = False) -> list[int]:
    """Queue a push to ``worker``'s channels, ending with their link to the alert; the new
    notification ids (none for a worker who is gone or has no channel)."""
    person = await _recipient(conn, state["community"], worker)
    if person is None:
        return []
    locale = pushes.recipient_locale(person, person["community_locale"], settings.locale)
    now = utc_now()
    cur = await conn.execute(shared.UPSERT_ALERT_LINK, pushes.link_params(
        settings.api, alert_id=state["id"], community=state["community"], worker=worker,
        now=now))
    link = await cur.fetchone()
    assert link is not None
    push = make(locale)
    push = PushText(title=push.title, body=pushes.with_link(
        push.body, pushes.link_url(settings.api, link["token"]), locale))
    queued: list[int] = []
    for params in pushes.notification_params(
            alert_id=state["id"], community=state["community"], worker=worker,
            notify_urls=person["notify_urls"], push=push, now=now):
        for n in range(1, pushes.MAX_REPEATS + 1 if numbered else 2):
            title = pushes.numbered(push.title, n, locale)
            cur = await conn.execute(shared.INSERT_NOTIFICATION, params | {"title": title})
            row = await cur.fetchone()
            if row is not None:
                queued.append(row["id"])
                break
    return queued


async def _add_timeline(conn: Conn, state: dict[str, Any], principal: Principal, action: str,
                        note: str | None, data: dict[str, Any]) -> None:
    """A timeline row by the principal, and the same step in the audit log."""
    await conn.execute(shared.ADD_TIMELINE, {
        "alert_id": state["id"], "actor": principal.username, "action": action, "note": note,
        "at": None, "data": Jsonb({**data, "via": principal.via, "role": principal.role.value}),
    })
    await audit.record(conn, principal, f"alert.{action}", f"alert:{state['id']}", data,
                       community=state["community"])


async def _refuse(conn: Conn, alert_id: int, principal: Principal, done: str) -> NoReturn:
    """Raise why a step matched nothing: the alert's state (read again) does not allow it."""
    state = await alert_state(conn, alert_id, principal)
    require_own(state, principal)
    status, review_ = state["status"], state["review"]
    if done == "reviewed" and status == "resolved":
        reason = ("it was closed by the system; there is no feedback to review"
                  if state["resolved_by"] == "system" else f"its feedback is already {review_}")
    elif done == "archived" and status == "resolved":
        reason = "its feedback has not been accepted yet"
    elif done == "dispatched" and status in shared.ACTIVE_STATUSES:
        reason = "it was dispatched by someone else meanwhile"
    else:
        reason = f"it is {status}"
    raise Conflict(f"alert {alert_id} cannot be {done}: {reason}")
