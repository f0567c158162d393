"""`python -m bot admin create-user USERNAME --role ROLE`: staff accounts from the terminal."""

from __future__ import annotations

import argparse
import getpass
import sys
import time

from bot import config as config_module
from bot import storage
from bot.admin.security import ROLES, hash_password, password_problem
from bot.storage import admin as store


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register `admin create-user`."""
    admin = subparsers.add_parser("admin", help="staff console accounts")
    commands = admin.add_subparsers(dest="admin_command", metavar="COMMAND")
    create = commands.add_parser(
        "create-user",
        help="create a console account (or reset its password); the password is read from stdin",
        description="Create a staff console account, or replace its password and role. The "
        "password is read from stdin (asked twice on a terminal); at least 10 characters.",
    )
    create.add_argument("username", help="login name (letters, digits, . _ -)")
    create.add_argument("--role", required=True, choices=ROLES, help="what the account may do")
    create.add_argument("--config", help="configuration file (default: $BOT_CONFIG or config.toml)")
    create.set_defaults(func=create_user)
    admin.set_defaults(func=lambda args: admin.print_help() or 2)


def read_password(stream: object = None) -> str:
    """The password: asked twice on a terminal, else the first line of stdin."""
    stream = stream or sys.stdin
    if stream.isatty():  # type: ignore[attr-defined]
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Repeat password: "):
            raise ValueError("the two passwords differ")
        return first
    return stream.readline().rstrip("\r\n")  # type: ignore[attr-defined]


def create_user(args: argparse.Namespace) -> int:
    """Create or update the account; print what happened."""
    settings = config_module.load(args.config)
    try:
        password = read_password()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    problem = password_problem(args.username, password)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    db = storage.connect(settings.storage.database)
    now = time.time()
    with storage.transaction(db):
        new = store.save_account(db, args.username, hash_password(password), args.role, now)
        store.audit(
            db,
            None,
            "cli",
            "account_created" if new else "account_updated",
            f"{args.username} role={args.role}",
            now,
        )
    state = "created" if new else "updated (password and role replaced, sessions ended)"
    print(f"account {args.username} ({args.role}) {state} in {settings.storage.database}")
    return 0
