"""The broker's files: Mosquitto-compatible hashes, a password file and an ACL that
regenerate idempotently and keep what other buildings and operators put there."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from hardware.provision.acl import SERVICE_USERS, agent_rules, parse_acl, render_acl
from hardware.provision.files import write_file, write_private
from hardware.provision.mosquitto import (
    agent_username,
    hash_password,
    new_password,
    read_entries,
    upsert_entry,
    verify_password,
)
from linli.errors import ConfigError


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_hash_round_trip_and_random_salt() -> None:
    password = new_password()
    first, second = hash_password(password), hash_password(password)
    assert first != second  # salted
    assert verify_password(password, first) and verify_password(password, second)
    assert not verify_password(password + "x", first)
    assert not verify_password(password, "$6$not$mosquitto")
    assert first.startswith("$7$101$")


@pytest.mark.skipif(shutil.which("mosquitto_passwd") is None, reason="mosquitto_passwd absent")
def test_our_hash_is_mosquitto_passwds_hash(tmp_path: Path) -> None:
    path = tmp_path / "passwd"
    path.touch()
    password = new_password()
    subprocess.run(["mosquitto_passwd", "-b", str(path), "someone", password], check=True)
    ((user, theirs),) = read_entries(path)
    assert user == "someone" and verify_password(password, theirs)
    salt = __import__("base64").b64decode(theirs.split("$")[3])
    assert hash_password(password, salt=salt) == theirs


def test_password_file_keeps_others_and_rewrites_only_on_change(tmp_path: Path) -> None:
    path = tmp_path / "broker" / "passwd"
    write_private(path, "ingest:$7$101$c2FsdA==$aGFzaA==\n")
    assert upsert_entry(path, "agent-juxin-b01", "first") is True
    before = path.read_bytes()
    assert upsert_entry(path, "agent-juxin-b01", "first") is False  # same password: untouched
    assert path.read_bytes() == before
    assert upsert_entry(path, "agent-juxin-b01", "second") is True
    entries = dict(read_entries(path))
    assert list(entries) == ["ingest", "agent-juxin-b01"]
    assert entries["ingest"] == "$7$101$c2FsdA==$aGFzaA=="
    assert verify_password("second", entries["agent-juxin-b01"])
    assert mode(path) == 0o600


def test_a_malformed_password_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "passwd"
    path.write_text("ingest $7$...\n")
    with pytest.raises(ConfigError, match="passwd:1: not a 'username:hash' line"):
        upsert_entry(path, "agent-c-b", "x")


def test_write_file_is_atomic_idempotent_and_sets_the_mode(tmp_path: Path) -> None:
    path = tmp_path / "a" / "acl"
    assert write_file(path, "x\n") is True
    assert mode(path) == 0o644
    assert write_file(path, "x\n") is False
    assert write_private(path, "x\n") is True  # same text, but the mode must change
    assert mode(path) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["acl"]  # no temporary left behind


def test_acl_gives_each_agent_its_own_building_only() -> None:
    acl = parse_acl("")
    assert acl.set_agent("juxin", "b01") == agent_username("juxin", "b01") == "agent-juxin-b01"
    acl.set_agent("juxin", "b02")
    text = render_acl(acl)
    assert ("user agent-juxin-b01\ntopic write linli/v1/juxin/b01/+/events\n"
            "topic write linli/v1/juxin/b01/+/status\n"
            "topic read linli/v1/juxin/b01/+/stored\n"
            "topic read linli/v1/_ingest/session\n") in text
    assert ("user ingest\ntopic read linli/v1/+/+/+/events\ntopic read linli/v1/+/+/+/status\n"
            "topic write linli/v1/+/+/+/stored\ntopic write linli/v1/_ingest/session\n") in text
    # nobody else may publish events or status; ingest alone writes receipts and epochs
    assert text.count("topic write") == 6 and text.count("/stored") == 3
    assert text.count("topic write linli/v1/_ingest/session") == 1
    assert text.count("topic read linli/v1/_ingest/session") == 2
    assert parse_acl(text).agents() == {"agent-juxin-b01": ("juxin", "b01"),
                                        "agent-juxin-b02": ("juxin", "b02")}


@pytest.mark.parametrize("lines", [2, 3])
def test_an_acl_written_before_receipts_or_epochs_gets_the_agents_read_grants(
        lines: int) -> None:
    rules = ["topic write linli/v1/juxin/b01/+/events", "topic write linli/v1/juxin/b01/+/status",
             "topic read linli/v1/juxin/b01/+/stored"][:lines]
    acl = parse_acl("\n".join(["user agent-juxin-b01", *rules]))
    assert acl.agents() == {"agent-juxin-b01": ("juxin", "b01")}
    text = render_acl(acl)
    assert ("user agent-juxin-b01\n" + "\n".join(agent_rules("juxin", "b01")) + "\n") in text
    assert "topic read linli/v1/_ingest/session" in agent_rules("juxin", "b01")
    assert render_acl(parse_acl(text)) == text


def test_acl_regeneration_is_idempotent_and_keeps_what_others_added() -> None:
    existing = "\n".join([
        "# hand-written", "pattern read linli/v1/%c/#", "topic read public/#",
        "user ingest", "topic readwrite #",          # a service block is always rewritten
        "user agent-juxin-b02", *agent_rules("juxin", "b02"),
        "user edge", "topic write linli/v1/#",        # an operator's user is kept
        "user agent-juxin-b01", "topic write linli/v1/juxin/b01/+/events",
    ])
    acl = parse_acl(existing)
    acl.set_agent("juxin", "b01")
    text = render_acl(acl)
    again = parse_acl(text)
    again.set_agent("juxin", "b01")
    assert render_acl(again) == text
    reparsed = parse_acl(text)
    assert reparsed.top == ["pattern read linli/v1/%c/#", "topic read public/#"]
    assert reparsed.users["ingest"] == list(SERVICE_USERS["ingest"])
    assert reparsed.users["edge"] == ["topic write linli/v1/#"]
    assert reparsed.users["agent-juxin-b01"] == list(agent_rules("juxin", "b01"))
    assert set(reparsed.agents()) == {"agent-juxin-b01", "agent-juxin-b02"}


def test_acl_refuses_a_username_that_two_buildings_would_share() -> None:
    acl = parse_acl("")
    acl.set_agent("a-b", "c")
    with pytest.raises(ConfigError, match="agent-a-b-c already belongs to the agent of a-b/c"):
        acl.set_agent("a", "b-c")
    with pytest.raises(ConfigError, match="unknown rule 'topci'"):
        parse_acl("user x\ntopci read #\n")


def test_acl_refuses_to_widen_a_hand_made_block_of_the_same_name() -> None:
    acl = parse_acl("user agent-juxin-b01\ntopic readwrite linli/v1/#\n")
    with pytest.raises(ConfigError, match="rules beyond linli/v1/juxin/b01/#"):
        acl.set_agent("juxin", "b01")


def test_the_compose_acl_can_seed_the_generated_one() -> None:
    seed = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto" / "acl"
    acl = parse_acl(seed.read_text(encoding="utf-8"))
    kept = {user: rules for user, rules in acl.users.items() if user not in SERVICE_USERS}
    acl.set_agent("juxin", "b01")
    generated = parse_acl(render_acl(acl))
    assert set(generated.users) == {*SERVICE_USERS, *kept, "agent-juxin-b01"}
    assert {user: generated.users[user] for user in kept} == kept  # an operator's own users
