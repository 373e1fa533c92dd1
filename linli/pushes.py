"""Pushes that more than one stage queues: the link every push ends with, and the texts of
the alert loop's pushes (dispatch, re-dispatch, returned for rework, feedback overdue).

The rules engine (sync) and the API (async) both queue pushes into ``notifications``; the
rules service's notifier sends them. What they share is here and in ``linli.alerts``
(the named SQL): building a push and its link is pure, running the SQL is each stage's.

Every push ends with ``{public_url}/go/{token}`` (channels that carry only text add the
push's reference, ``编号 N-123``, after it): a random token, one per (alert, worker)
in ``alert_links``, valid for ``api.link_hours``; opening it leads to the alert's page,
which still asks to log in. Pushes carry no phone numbers: the contacts are behind the
link, read at the time they are needed.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from linli.channels import redact_channel
from linli.i18n import Catalog
from linli.settings import ApiSettings

__all__ = ["MAX_REPEATS", "TEXTS", "PushText", "idempotency_key", "link_expiry", "link_params",
           "link_url", "local_time", "new_link_token", "notification_params", "numbered",
           "public_url", "recipient_locale", "text", "with_link", "with_reference"]


@dataclass(frozen=True, slots=True)
class PushText:
    """A push notification's title and body."""

    title: str
    body: str


TEXTS = Catalog({
    "link": {"zh-CN": "查看详情并反馈：{url}", "en": "Details and feedback: {url}"},
    "reference": {"zh-CN": "编号 {ref}", "en": "Ref. {ref}"},
    "repeat": {"zh-CN": "{title}（第{n}次）", "en": "{title} (#{n})"},
    "dispatched.title": {"zh-CN": "【邻里·派单】{title}", "en": "[Linli · assigned] {title}"},
    "dispatched.body": {
        "zh-CN": "{actor}将告警#{alert_id}派给您，请尽快上门查看并反馈。",
        "en": "{actor} assigned alert #{alert_id} to you: please visit and report back.",
    },
    "redispatched.title": {"zh-CN": "【邻里·转办】{title}", "en": "[Linli · reassigned] {title}"},
    "redispatched.body": {
        "zh-CN": "{actor}将告警#{alert_id}转办给您（原因：{reason}），请尽快上门查看并反馈。",
        "en": "{actor} reassigned alert #{alert_id} to you (reason: {reason}): please visit "
              "and report back.",
    },
    "note": {"zh-CN": "备注：{note}", "en": "Note: {note}"},
    "returned.title": {"zh-CN": "【邻里·退回】{title}", "en": "[Linli · returned] {title}"},
    "returned.body": {
        "zh-CN": "{actor}退回了告警#{alert_id}的核查反馈：{note}\n请在{due}前重新反馈。",
        "en": "{actor} returned your feedback on alert #{alert_id}: {note}\n"
              "Please report again by {due}.",
    },
    "overdue.title": {"zh-CN": "【邻里·反馈超时】{title}", "en": "[Linli · feedback overdue] {title}"},
    "overdue.body": {
        "zh-CN": "告警#{alert_id}已于{since}确认，核查反馈应在{due}前提交，至今未收到（负责人：{who}）。",
        "en": "Alert #{alert_id} was acknowledged {since}; the on-site feedback was due by "
              "{due} and has not come (assigned to {who}).",
    },
    "nobody": {"zh-CN": "未指派", "en": "nobody"},
    "time.format": {"zh-CN": "{month}月{day}日 {hm}", "en": "{day} {mon} {hm}"},
})

_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def text(key: str, locale: str | None, **values: Any) -> str:
    """One message of this catalog."""
    return TEXTS(key, locale, **values)


def local_time(value: dt.datetime | str | None, tz: dt.tzinfo, locale: str | None) -> str:
    """``11月21日 18:02`` / ``21 Nov 18:02`` in the community's time zone."""
    if value is None:
        return "—"
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    local = moment.astimezone(tz)
    return text("time.format", locale, month=local.month, day=local.day,
                mon=_MONTHS_EN[local.month - 1], hm=local.strftime("%H:%M"))


def public_url(api: ApiSettings) -> str:
    """Where people open Linli: ``api.public_url``, else the API's own address."""
    if api.public_url:
        return api.public_url.rstrip("/")
    host = api.host
    if ":" in host and not host.startswith("["):  # an IPv6 address
        host = f"[{host}]"
    return f"http://{host}:{api.port}"


def new_link_token() -> str:
    """A random link token (192 bits, URL-safe)."""
    return secrets.token_urlsafe(24)


def link_url(api: ApiSettings, token: str) -> str:
    """``{public_url}/go/{token}``."""
    base = public_url(api)
    return f"{base}/go/{token}" if urlsplit(base).scheme else f"/go/{token}"


def link_expiry(api: ApiSettings, now: dt.datetime) -> dt.datetime:
    """When a link made at ``now`` stops opening its alert."""
    return now + dt.timedelta(hours=api.link_hours)


def with_link(body: str, url: str, locale: str | None) -> str:
    """The push body with the link to the alert as its last line."""
    return f"{body}\n{text('link', locale, url=url)}"


def idempotency_key(notification_id: int) -> str:
    """``N-123``: what makes one push recognisable to its receiver across repeats.

    Every attempt of one notification (one alert, worker, channel and kind of push) carries
    the same key, so a receiver that got it already can drop a repeat: webhooks get it as the
    ``Idempotency-Key`` header and in the body, other channels at the end of the text.
    """
    return f"N-{notification_id}"


def with_reference(body: str, key: str, locale: str | None) -> str:
    """The push body with its idempotency key as a last line (``编号 N-123``), for channels
    that carry nothing but text: a worker who gets it twice sees it is the same push."""
    return f"{body}\n{text('reference', locale, ref=key)}"


MAX_REPEATS = 50
"""A push of one kind goes to one worker's channel at most this often per alert."""


def numbered(title: str, n: int, locale: str | None) -> str:
    """A title made distinct for the ``n``-th push of the same kind (n ≥ 2)."""
    return title if n <= 1 else text("repeat", locale, title=title, n=n)


def notification_params(*, alert_id: int, community: str, worker: str,
                        notify_urls: Sequence[str] | None, push: PushText,
                        now: dt.datetime) -> list[dict[str, Any]]:
    """``linli.alerts.INSERT_NOTIFICATION`` parameters, one per notify URL of a worker.

    Rows carry the redacted channel only: the URL itself never leaves
    ``grid_workers.notify_urls``.
    """
    return [
        {"alert_id": alert_id, "community": community, "worker": worker, "url_index": index,
         "channel": redact_channel(url), "title": push.title, "body": push.body, "now": now}
        for index, url in enumerate(notify_urls or [])
    ]


def link_params(api: ApiSettings, *, alert_id: int, community: str, worker: str,
                now: dt.datetime) -> dict[str, Any]:
    """``linli.alerts.UPSERT_ALERT_LINK`` parameters with a fresh token (kept only when the
    worker has no link to this alert yet)."""
    return {"token": new_link_token(), "alert_id": alert_id, "community": community,
            "worker": worker, "now": now, "expires_at": link_expiry(api, now)}


def recipient_locale(person: Mapping[str, Any], *fallbacks: str | None) -> str | None:
    """The language to write to ``person`` in: theirs, else the first fallback set."""
    for locale in (person.get("locale"), *fallbacks):
        if locale:
            return str(locale)
    return None
