"""The installer's console: devices adopted from profiles, stored per building, and the
agent configuration and credentials made from them with provisioning's own code
(``hardware.provision``), so that the console and ``linli hardware provision`` agree.

Secrets (a terminal's password, a camera URL with its credentials, a ZKTeco comm key: the
fields a source model keeps out of its ``repr`` or types as ``SecretStr``) are stored, since
the agent's configuration needs them, but no GET returns them: the device's settings come
back without them and with a flag each; the agent YAML a GET returns has them hidden; the
full file comes only with freshly issued credentials (a POST, audited, not cached).
"""

from __future__ import annotations

import asyncio
import functools
import re
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml
from psycopg.types.json import Jsonb
from pydantic import SecretStr, ValidationError

from api import audit
from api.deps import Conn
from api.errors import Conflict, FieldError, InvalidInput, NotFound
from api.installer import queries
from api.installer.models import (
    AdoptRequest,
    Credentials,
    FieldKind,
    InstalledDevice,
    ProfileField,
    ProfileRead,
)
from api.security import Principal
from hardware.profiles import PER_DEVICE_KEYS, Profile, ProfileCatalog, load_profiles, source_model
from hardware.provision.acl import parse_acl, render_acl
from hardware.provision.devices import BuildingPlan, DevicesFile, plan_building
from hardware.provision.files import env_text, write_file
from hardware.provision.flow import agent_yaml, broker_url_for, output_paths
from hardware.provision.mosquitto import agent_username, hash_password, new_password, upsert_entry
from hardware.provision.queries import BUILDING_EXISTS
from linli.directory_queries import UPSERT_DEVICE
from linli.errors import ConfigError
from linli.mqtt import BrokerAddress, parse_broker_url
from linli.settings import Settings

ORIGIN = "the installer's console"
HIDDEN = "********"
SUGGESTED = ("username", "password")
"""Fields shown in the adopt form even though the model has defaults for them."""
_PROBLEM = re.compile(r"devices\[\d+\] \([^)]*\)\.?([^:]*): (.*)")


@functools.cache
def catalog() -> ProfileCatalog:
    """The packaged profiles (read once per process)."""
    return load_profiles()


def secret_keys(protocol: str) -> frozenset[str]:
    """The source fields that hold secrets: kept out of repr, or ``SecretStr``."""
    fields = source_model(protocol).model_fields
    return frozenset(name for name, info in fields.items()
                     if info.repr is False or _is_secret_type(info.annotation))


def _is_secret_type(annotation: Any) -> bool:
    return annotation is SecretStr or SecretStr in typing.get_args(annotation)


def _field_kind(name: str, annotation: Any, secrets: frozenset[str]) -> FieldKind:
    if name in secrets:
        return "secret"
    args = typing.get_args(annotation) or (annotation,)
    if all(arg in (int, float, type(None)) for arg in args):
        return "number"
    if all(arg in (str, type(None)) for arg in args):
        return "text"
    return "structured"


def profile_read(profile: Profile) -> ProfileRead:
    """A profile as the console shows it: what must be filled in, no secret default."""
    model = source_model(profile.protocol)
    secrets = secret_keys(profile.protocol)
    fields = []
    for name, info in model.model_fields.items():
        if name in PER_DEVICE_KEYS or name in profile.defaults:
            continue
        if info.is_required() or name in SUGGESTED:
            fields.append(ProfileField(name=name, required=info.is_required(),
                                       kind=_field_kind(name, info.annotation, secrets)))
    defaults = {key: value for key, value in profile.defaults.items() if key not in secrets}
    return ProfileRead(family=profile.family, vendor=profile.vendor, models=profile.models,
                       protocol=profile.protocol, kind=profile.kind, fields=fields,
                       defaults=defaults, notes=profile.notes)


def list_profiles() -> list[ProfileRead]:
    return [profile_read(p) for _, p in sorted(catalog().profiles.items())]


async def require_building(conn: Conn, principal: Principal, community: str,
                           building: str) -> None:
    """404 for a building outside the principal's place, or one that does not exist."""
    principal.require_community(community)
    if not principal.sees_building(building):
        raise NotFound(f"building {building!r} does not exist")
    row = await (await conn.execute(BUILDING_EXISTS, {"community": community,
                                                      "building": building})).fetchone()
    if not row or not row["found"]:
        raise NotFound(f"building {building!r} does not exist")


async def require_device(conn: Conn, principal: Principal, community: str, building: str,
                         device: str) -> dict[str, Any]:
    """The device's row; 404 outside the principal's place or when it was never seen."""
    await require_building(conn, principal, community, building)
    row = await (await conn.execute(queries.DEVICE_IN_BUILDING, {
        "community": community, "building": building, "device": device})).fetchone()
    if row is None:
        raise NotFound(f"device {device!r} does not exist in building {building!r}")
    return dict(row)


async def _entries(conn: Conn, community: str, building: str) -> list[dict[str, Any]]:
    cur = await conn.execute(queries.LIST_INSTALLED, {"community": community,
                                                      "building": building})
    return [dict(row) for row in await cur.fetchall()]


def _shown(row: Mapping[str, Any]) -> InstalledDevice:
    try:
        secrets = secret_keys(catalog().get(row["profile"]).protocol)
    except ConfigError:
        secrets = frozenset(("password", "url", "comm_key"))
    settings = dict(row["settings"])
    return InstalledDevice(
        device=row["device"], profile=row["profile"], name=row["name"], kind=row["kind"],
        settings={k: v for k, v in settings.items() if k not in secrets},
        secrets={k: k in settings and settings[k] not in ("", None) for k in sorted(secrets)},
        updated_by=row["updated_by"], updated_at=row["updated_at"])


async def list_installed(*, conn: Conn, principal: Principal, community: str,
                         building: str) -> list[InstalledDevice]:
    await require_building(conn, principal, community, building)
    return [_shown(row) for row in await _entries(conn, community, building)]


def _devices_file(community: str, building: str,
                  entries: list[dict[str, Any]]) -> DevicesFile:
    raw = {"community": community, "building": building, "devices": [
        {**e["settings"], "id": e["device"], "profile": e["profile"], "name": e["name"],
         "kind": e["kind"]} for e in entries]}
    try:
        return DevicesFile.model_validate(raw)
    except ValidationError as exc:
        fields = [FieldError(field=".".join(str(p) for p in err["loc"][2:]) or "device",
                             location="body", message=err["msg"]) for err in exc.errors()]
        raise InvalidInput("; ".join(f"{f.field}: {f.message}" for f in fields),
                           fields=fields) from None


def _plan(community: str, building: str, entries: list[dict[str, Any]]) -> BuildingPlan:
    """``plan_building`` over the entries; its ConfigError as a 422 naming each field."""
    devices = _devices_file(community, building, entries)
    try:
        return plan_building(devices, catalog(), community=community, building=building,
                             origin=ORIGIN)
    except ConfigError as exc:
        raise _invalid(str(exc)) from None


def _invalid(message: str) -> InvalidInput:
    text = message.removeprefix(f"{ORIGIN}: ")
    fields = []
    for problem in text.split("; "):
        found = _PROBLEM.match(problem)
        if found:
            where = found.group(1)
            name = where if where == "profile" else f"settings.{where}" if where else "device"
            fields.append(FieldError(field=name, location="body", message=found.group(2)))
        else:
            fields.append(FieldError(field="device", location="body", message=problem))
    return InvalidInput(text, fields=fields)


async def adopt(*, conn: Conn, principal: Principal, community: str, building: str,
                device: str, body: AdoptRequest) -> tuple[InstalledDevice, bool]:
    """Adopt ``device`` (seen on the wire) from a profile, or set it up again; validated
    alone, then with the building's other devices, exactly as provisioning does."""
    await require_device(conn, principal, community, building, device)
    try:
        profile = catalog().get(body.profile)
    except ConfigError as exc:
        raise InvalidInput.for_field("profile", "body", str(exc)) from None
    entries = await _entries(conn, community, building)
    before = next((e for e in entries if e["device"] == device), None)
    settings = {k: v for k, v in body.settings.items() if v is not None}
    if before is not None and before["profile"] == body.profile:
        for key in secret_keys(profile.protocol):
            if settings.get(key) in (None, "") and before["settings"].get(key) not in (None, ""):
                settings[key] = before["settings"][key]
    entry = {"device": device, "profile": body.profile, "name": body.name,
             "kind": body.kind or profile.kind, "settings": settings}
    _plan(community, building, [entry])
    plan = _plan(community, building, [*(e for e in entries if e["device"] != device), entry])
    row = next(r for r in plan.devices if r.id == device)
    async with conn.transaction():
        cur = await conn.execute(queries.UPSERT_INSTALLED, {
            "community": community, "building": building, "device": device,
            "profile": body.profile, "name": body.name, "kind": row.kind,
            "settings": Jsonb(settings), "updated_by": principal.username})
        saved = await cur.fetchone()
        assert saved is not None
        inserted = bool(saved["inserted"])
        await conn.execute(UPSERT_DEVICE, {
            "community": community, "building": building, "id": device, "kind": row.kind,
            "name": row.name, "household": None, "door": None, "keep_links": True})
        await audit.record(conn, principal, "device.adopted" if inserted else "device.updated",
                           f"device:{community}/{building}/{device}",
                           {"profile": body.profile, "kind": row.kind,
                            "settings": sorted(settings)}, community=community)
    stored = {**entry, "kind": row.kind, "updated_by": principal.username,
              "updated_at": saved["updated_at"]}
    return _shown(stored), inserted


async def _building_plan(conn: Conn, community: str, building: str) -> BuildingPlan:
    entries = await _entries(conn, community, building)
    if not entries:
        raise NotFound(f"no device of building {building!r} has been adopted yet")
    return _plan(community, building, entries)


def _hide(values: dict[str, Any]) -> dict[str, Any]:
    """The agent configuration with every source's secrets hidden."""
    sources = []
    for source in values["sources"]:
        secrets = secret_keys(source["type"])
        sources.append({k: (_mask(v) if k in secrets else v) for k, v in source.items()})
    return {**values, "sources": sources}


def _mask(value: Any) -> Any:
    if isinstance(value, str) and "://" in value:
        parts = urlsplit(value)
        if parts.password is not None or parts.username is not None:
            host = parts.hostname or ""
            port = f":{parts.port}" if parts.port else ""
            return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:{HIDDEN}@{host}{port}"))
        return value
    return HIDDEN if value not in (None, "") else value


async def agent_config(*, conn: Conn, principal: Principal, community: str,
                       building: str) -> str:
    """The agent's YAML with its secrets hidden (the full file comes with credentials)."""
    await require_building(conn, principal, community, building)
    plan = await _building_plan(conn, community, building)
    await audit.record(conn, principal, "agent.config_read", f"building:{community}/{building}",
                       {"sources": len(plan.agent.sources)}, community=community)
    header = (f"# Edge agent of {community}/{building}, generated by {ORIGIN}.\n"
              f"# Secrets are shown as {HIDDEN}: issue the agent's credentials in the console "
              "for the file to install.\n")
    return header + yaml.safe_dump(_hide(plan.agent_values), allow_unicode=True,
                                   sort_keys=False)


def agent_broker(settings: Settings) -> BrokerAddress:
    """Where the agent reaches the broker: ``api.agent_broker_url``, or LINLI_MQTT_URL's
    host and port (never its credentials)."""
    url = settings.api.agent_broker_url
    if url is None and settings.mqtt_url is not None:
        url = settings.mqtt_url.get_secret_value()
    if url is None:
        raise Conflict("no broker address for agents: set LINLI_API__AGENT_BROKER_URL "
                       "(mqtt://host:port) or LINLI_MQTT_URL")
    found = parse_broker_url(url)
    return BrokerAddress(found.host, found.port, found.tls)


def _write_broker_files(provision_dir: Path, community: str, building: str, username: str,
                        password: str) -> None:
    paths = output_paths(provision_dir, community, building)
    acl = parse_acl(paths.acl.read_text(encoding="utf-8")) if paths.acl.exists() else None
    acl = acl or parse_acl("")
    acl.set_agent(community, building)  # refuses a username clash before writing anything
    upsert_entry(paths.passwd, username, password)
    write_file(paths.acl, render_acl(acl))


async def issue_credentials(*, conn: Conn, principal: Principal, settings: Settings,
                            community: str, building: str) -> Credentials:
    """New MQTT credentials for the building's agent (the old password stops working once
    the broker reloads its files), with the full agent configuration; shown once."""
    await require_building(conn, principal, community, building)
    plan = await _building_plan(conn, community, building)
    broker = agent_broker(settings)
    username = agent_username(community, building)
    password = new_password()
    hashed = hash_password(password)
    provision_dir = settings.api.provision_dir
    if provision_dir is not None:
        try:
            await asyncio.to_thread(_write_broker_files, provision_dir, community, building,
                                    username, password)
        except ConfigError as exc:
            raise Conflict(str(exc)) from None
    await conn.execute(queries.UPSERT_AGENT_CREDENTIAL, {
        "community": community, "building": building, "username": username,
        "password_hash": hashed, "issued_by": principal.username})
    await audit.record(conn, principal, "agent.credentials_issued",
                       f"building:{community}/{building}",
                       {"username": username, "broker_updated": provision_dir is not None},
                       community=community)
    url = broker_url_for(broker, username, password)
    return Credentials(
        username=username, env=env_text(community=community, building=building, url=url),
        agent_yaml=agent_yaml(plan, ORIGIN), broker_updated=provision_dir is not None,
        passwd_line=None if provision_dir is not None else f"{username}:{hashed}")
