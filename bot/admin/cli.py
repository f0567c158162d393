"""`python -m bot admin create-user USERNAME --role ROLE`: staff accounts from the terminal."""

from __future__ import annotations

import argparse
import getpass
import sys
import time

from bot import config as config_module
from bot import storage
from bot.admin.security import ROLE_LABELS, ROLES, hash_password, password_problem
from bot.clihelp import group, subcommand
from bot.storage import admin as store


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register `admin create-user`."""
    _, commands = group(subparsers, "admin", "tài khoản trang quản trị")
    roles = ", ".join(f"{role} ({ROLE_LABELS[role]})" for role in ROLES)
    create = subcommand(
        commands,
        "create-user",
        "tạo tài khoản trang quản trị, hoặc đặt lại mật khẩu và vai trò; mật khẩu đọc từ "
        "stdin (trên terminal được hỏi hai lần), ít nhất 10 ký tự",
    )
    create.add_argument(
        "username", metavar="TÊN_ĐĂNG_NHẬP", help="chữ không dấu, số và các ký tự . _ -"
    )
    create.add_argument(
        "--role", required=True, choices=ROLES, metavar="VAI_TRÒ", help=f"một trong: {roles}"
    )
    create.add_argument(
        "--config", metavar="TỆP", help="tệp cấu hình (mặc định: $BOT_CONFIG hoặc config.toml)"
    )
    create.set_defaults(func=create_user)
    outcomes = subcommand(
        commands,
        "outcomes",
        "phân loại kết quả các lượt hỏi chưa phân loại (trang Tổng quan và Hộp lỗi cũng tự làm); "
        "nên chạy một lần sau khi nâng cấp trên cơ sở dữ liệu đã có nhiều lượt hỏi",
    )
    outcomes.add_argument(
        "--config", metavar="TỆP", help="tệp cấu hình (mặc định: $BOT_CONFIG hoặc config.toml)"
    )
    outcomes.set_defaults(func=classify_outcomes)


def read_password(stream: object = None) -> str:
    """The password: asked twice on a terminal, else the first line of stdin."""
    stream = stream or sys.stdin
    if stream.isatty():  # type: ignore[attr-defined]
        first = getpass.getpass("Mật khẩu: ")
        if first != getpass.getpass("Nhập lại mật khẩu: "):
            raise ValueError("hai lần nhập mật khẩu không giống nhau")
        return first
    return stream.readline().rstrip("\r\n")  # type: ignore[attr-defined]


def create_user(args: argparse.Namespace) -> int:
    """Create or update the account; print what happened."""
    settings = config_module.load(args.config)
    try:
        password = read_password()
    except ValueError as exc:
        print(f"Lỗi: {exc}", file=sys.stderr)
        return 1
    problem = password_problem(args.username, password)
    if problem:
        print(f"Lỗi: {problem}", file=sys.stderr)
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
    state = "đã tạo" if new else "đã cập nhật (thay mật khẩu và vai trò, đăng xuất mọi phiên)"
    label = ROLE_LABELS[args.role]
    print(f"Tài khoản {args.username} ({label}) {state} trong {settings.storage.database}")
    return 0


def classify_outcomes(args: argparse.Namespace) -> int:
    """Bring the stored outcomes up to date; print how many changed and how long it took."""
    from bot.admin import quality  # noqa: PLC0415 - only this command needs it

    settings = config_module.load(args.config)
    started = time.monotonic()
    changed = quality.refresh(storage.connect(settings.storage.database), time.time())
    print(f"Đã phân loại {changed} lượt hỏi trong {time.monotonic() - started:.1f} giây.")
    return 0
