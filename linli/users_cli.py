"""``linli users add|list|disable|enable|reset-password|token``: accounts from the command line.

Works on ``LINLI_DATABASE_URL`` directly (the API need not run). A password is read from
standard input (``--password-stdin``, one line) or generated and printed once; a token is
printed once. Every change is in the audit log as ``cli:<system user>`` via ``cli``.
Mistakes (unknown user, missing community, weak password …) end with one line on stderr
and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg

from linli import users
from linli.accounts import Role, new_password
from linli.errors import ServiceError
from linli.settings import Settings


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "users", help="manage accounts: add, list, disable, reset passwords, API tokens",
        description="Accounts of the API and dashboard. Grid workers of an imported "
                    "directory get theirs from `linli import`.")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    add = verbs.add_parser("add", help="add an account (prints a generated password once)")
    add.add_argument("--username", required=True)
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.add_argument("--community", help="the community of a control_room, grid_worker or "
                                         "installer (an auditor's, if limited to one)")
    add.add_argument("--worker", help="their id in the directory's grid_workers (a "
                                      "grid_worker's grids come from it)")
    add.add_argument("--building", dest="buildings", action="append", default=[],
                     metavar="BUILDING", help="limit an installer to a building (repeatable)")
    add.add_argument("--name", help="display name (default: the worker's name, else the "
                                    "user name)")
    _password_stdin(add)
    add.set_defaults(run=run_add)

    listing = verbs.add_parser("list", help="list accounts (never their passwords)")
    listing.add_argument("--community")
    listing.set_defaults(run=run_list)

    disable = verbs.add_parser("disable", help="disable an account; its sessions and tokens end")
    disable.add_argument("--username", required=True)
    disable.add_argument("--reason", help="kept in the audit log")
    disable.set_defaults(run=run_disable)

    enable = verbs.add_parser("enable", help="enable a disabled account again")
    enable.add_argument("--username", required=True)
    enable.set_defaults(run=run_enable)

    reset = verbs.add_parser("reset-password",
                             help="set a new password, to be changed at the next login")
    reset.add_argument("--username", required=True)
    _password_stdin(reset)
    reset.set_defaults(run=run_reset)

    token = verbs.add_parser("token", help="make (prints it once), list or revoke API tokens")
    token.add_argument("--username", help="the account the token acts as")
    token.add_argument("--name", help="what the token is for, e.g. 'wecom bridge'")
    token.add_argument("--scope", choices=["read", "write"], default="read")
    token.add_argument("--days", type=int, default=90,
                       help="days until it expires (default 90)")
    token.add_argument("--list", action="store_true", help="list the account's tokens")
    token.add_argument("--revoke", type=int, metavar="ID", help="revoke the token with this id")
    token.set_defaults(run=run_token)


def _password_stdin(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--password-stdin", action="store_true",
                        help="read the password from the first line of standard input "
                             "(else one is generated and printed once)")


@contextmanager
def _connect(settings: Settings) -> Iterator[Any]:
    """An autocommit connection (each verb is its own transaction); database failures
    become one line."""
    from linli.db import connect

    try:
        with connect(settings.require_database_url(), autocommit=True) as conn:
            yield conn
    except psycopg.errors.UndefinedTable as exc:
        raise ServiceError("the database has no account tables: run `linli db migrate`") \
            from exc
    except psycopg.Error as exc:
        raise ServiceError(f"database error: {str(exc).splitlines()[0]}") from exc


def _read_password(args: argparse.Namespace) -> tuple[str, bool]:
    """The password and whether it was generated."""
    if not args.password_stdin:
        return new_password(), True
    line = sys.stdin.readline()
    password = line[:-1] if line.endswith("\n") else line
    users.check_password(password.removesuffix("\r"))
    return password.removesuffix("\r"), False


def run_add(args: argparse.Namespace, settings: Settings) -> int:
    password, generated = _read_password(args)
    with _connect(settings) as conn:
        # A password someone else chose is changed at the first login; one the operator
        # typed in is theirs to keep (e.g. the first admin, or an integration's account).
        users.create_user(conn, username=args.username, role=args.role, password=password,
                          must_change_password=generated, actor=users.cli_actor(),
                          community=args.community, worker=args.worker,
                          buildings=args.buildings, display_name=args.name)
    print(f"added {args.username} ({args.role})")
    if generated:
        print(f"initial password (shown once; to be changed at the first login): {password}")
    return 0


def run_list(args: argparse.Namespace, settings: Settings) -> int:
    with _connect(settings) as conn:
        rows = users.list_users(conn, community=args.community)
    header = ("USER", "NAME", "ROLE", "COMMUNITY", "WORKER", "BUILDINGS", "STATE", "LAST LOGIN")
    table = [header] + [(
        r["username"], r["display_name"], r["role"], r["community"] or "*", r["worker"] or "",
        ",".join(r["buildings"] or []), _state(r),
        r["last_login_at"].strftime("%Y-%m-%d %H:%M") if r["last_login_at"] else "never")
        for r in rows]
    for line in _columns(table):
        print(line)
    return 0


def _state(row: dict[str, Any]) -> str:
    if row["disabled_at"] is not None:
        return "disabled"
    return "must change password" if row["must_change_password"] else "active"


def _columns(rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows padded to columns; Chinese characters count two columns wide."""
    widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell + " " * (w - _width(cell)) for cell, w in zip(row, widths,
                                                                          strict=True)).rstrip()
            for row in rows]


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def run_disable(args: argparse.Namespace, settings: Settings) -> int:
    with _connect(settings) as conn:
        ended = users.set_disabled(conn, username=args.username, disabled=True,
                                   actor=users.cli_actor(), reason=args.reason)
    print(f"disabled {args.username}: {ended['sessions']} sessions ended, "
          f"{ended['tokens']} tokens revoked")
    return 0


def run_enable(args: argparse.Namespace, settings: Settings) -> int:
    with _connect(settings) as conn:
        users.set_disabled(conn, username=args.username, disabled=False,
                           actor=users.cli_actor())
    print(f"enabled {args.username}")
    return 0


def run_reset(args: argparse.Namespace, settings: Settings) -> int:
    password, generated = _read_password(args)
    with _connect(settings) as conn:
        users.set_password(conn, username=args.username, password=password,
                           must_change_password=True, actor=users.cli_actor())
    print(f"password of {args.username} reset; their sessions and tokens ended; "
          "it must be changed at the next login")
    if generated:
        print(f"new password (shown once): {password}")
    return 0


def run_token(args: argparse.Namespace, settings: Settings) -> int:
    if args.revoke is not None:
        with _connect(settings) as conn:
            row = users.revoke_token(conn, token_id=args.revoke, actor=users.cli_actor())
        print(f"revoked token {row['id']} ({row['name']}) of {row['username']}")
        return 0
    if not args.username:
        raise users.AccountError("give --username (and --name to make a token, or --list), "
                                 "or --revoke ID")
    if args.list:
        with _connect(settings) as conn:
            rows = users.list_tokens(conn, username=args.username)
        table = [("ID", "NAME", "PREFIX", "SCOPE", "EXPIRES", "STATE")] + [(
            str(r["id"]), r["name"], r["prefix"] + "…", r["scope"],
            r["expires_at"].strftime("%Y-%m-%d") if r["expires_at"] else "never",
            "revoked" if r["revoked_at"] else "active") for r in rows]
        for line in _columns(table):
            print(line)
        return 0
    if not args.name:
        raise users.AccountError("a new token needs --name (what it is for)")
    with _connect(settings) as conn:
        made = users.create_token(conn, username=args.username, name=args.name,
                                  scope=args.scope, days=args.days, actor=users.cli_actor())
        must_change = users.must_change_password(conn, username=args.username)
    expires = made.expires_at.strftime("%Y-%m-%d") if made.expires_at else "never"
    print(f"token {made.id} for {made.username} ({made.scope}, expires {expires}); "
          "shown once, send it as 'Authorization: Bearer <token>':")
    print(made.token)
    if must_change:
        print(f"note: {made.username} must change the initial password before the token "
              "works", file=sys.stderr)
    return 0
