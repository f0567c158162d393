"""`python -m bot broadcast ...`, `followers sync` and `dossiers import|show` for staff."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot import config as config_module
from bot import storage
from bot.config import Config
from bot.outreach import audience, broadcasts, dossiers, followers
from bot.outreach.audience import REASON_LABELS, OutreachError
from bot.outreach.clock import format_local

IMPORT_COLUMNS = """columns (header row, any order, with or without diacritics):
  Mã hồ sơ        required  000.00.01.H26-260930-0012 (any province code)
  Thủ tục         required  procedure name
  Trạng thái      required  e.g. Đã tiếp nhận, Đang xử lý, Yêu cầu bổ sung, Từ chối, Trễ hạn,
                            Đã có kết quả, Đã trả kết quả, Dừng xử lý
  Nơi tiếp nhận   required  receiving office
  Ngày hẹn trả    optional  dd/mm/yyyy
  Người nộp       optional  stored as initials only
  Số điện thoại   optional  stored, never shown in full
  Zalo user id    optional  links the dossier to a citizen's Zalo account
UTF-8 with or without BOM; comma, semicolon or tab separated. Bad rows are listed with their
line and reason and skipped; good rows are applied together."""


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register `broadcast`, `followers` and `dossiers`."""
    bc = subparsers.add_parser("broadcast", help="create, approve, list, show or cancel broadcasts")
    commands = bc.add_subparsers(dest="broadcast_command", metavar="BROADCAST_COMMAND")
    bc.set_defaults(func=lambda args: bc.print_help() or 2)

    create = commands.add_parser("create", help="schedule a broadcast (or save a draft)")
    create.add_argument("--text", required=True, help="the message (at most 2,000 characters)")
    create.add_argument("--at", default="now", help="'now' or an ISO time (local if no offset)")
    create.add_argument(
        "--audience", required=True, help="all | tag:NAME | ward:WARD_ID | recent:DAYS"
    )
    create.add_argument("--link", default=None, help="a link shown under the text")
    create.add_argument("--link-title", default=None, help="the link's label")
    create.add_argument("--image", default=None, help="an image URL (jpg/png)")
    create.add_argument("--draft", action="store_true", help="save as a draft to approve later")
    create.set_defaults(func=_create)

    listing = commands.add_parser("list", help="the latest broadcasts with progress")
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(func=_list)
    for name, func, text in (
        ("show", _show, "one broadcast with progress counts"),
        ("cancel", _cancel, "cancel a draft, scheduled or sending broadcast"),
        ("approve", _approve, "approve a draft (news drafts need this)"),
    ):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("id", type=int, help="broadcast id")
        if name == "approve":
            sub.add_argument("--at", default=None, help="'now' or an ISO time")
        if name == "show":
            sub.add_argument(
                "--watch", action="store_true", help="print progress every 2 s until it ends"
            )
        sub.set_defaults(func=func)
    preview = commands.add_parser("audience", help="count an audience and how it is reachable")
    preview.add_argument("audience", help="all | tag:NAME | ward:WARD_ID | recent:DAYS")
    preview.set_defaults(func=_audience)
    for sub in (create, listing, preview, *commands.choices.values()):
        if not any(a.dest == "json" for a in sub._actions):
            sub.add_argument("--json", action="store_true", help="print JSON")

    fol = subparsers.add_parser("followers", help="sync followers and tags from Zalo")
    fol_commands = fol.add_subparsers(dest="followers_command", metavar="FOLLOWERS_COMMAND")
    fol.set_defaults(func=lambda args: fol.print_help() or 2)
    sync = fol_commands.add_parser("sync", help="page through Zalo's follower list and tags")
    sync.add_argument("--json", action="store_true", help="print JSON")
    sync.set_defaults(func=_sync)

    dos = subparsers.add_parser("dossiers", help="import the one-stop system's dossier export")
    dos_commands = dos.add_subparsers(dest="dossiers_command", metavar="DOSSIERS_COMMAND")
    dos.set_defaults(func=lambda args: dos.print_help() or 2)
    imp = dos_commands.add_parser(
        "import",
        help="validate, preview and apply a CSV export",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=IMPORT_COLUMNS,
    )
    imp.add_argument("file", help="the CSV file (UTF-8, with or without BOM)")
    imp.add_argument("--dry-run", action="store_true", help="preview only; change nothing")
    imp.add_argument("--json", action="store_true", help="print the report as JSON")
    imp.set_defaults(func=_import)
    show = dos_commands.add_parser("show", help="one dossier by code (phone masked)")
    show.add_argument("code")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(func=_dossier_show)


def _open(args: argparse.Namespace) -> tuple[Config, Any]:
    """The configuration and a connection to its database."""
    config = config_module.load()
    return config, storage.connect(config.storage.database)


def _fail(message: str) -> int:
    """Print an error for staff and return exit status 2."""
    print(f"Lỗi: {message}", file=sys.stderr)
    return 2


def _emit(args: argparse.Namespace, data: Any, text: str) -> None:
    """Print `data` as JSON with --json, else the human-readable `text`."""
    print(json.dumps(data, ensure_ascii=False, indent=2) if args.json else text)


def _describe(row: dict[str, Any], config: Config) -> str:
    """One line about a broadcast: id, state, local send time, audience, progress."""
    progress = row.get("progress", {})
    counts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in progress.items() if k != "total")
    first = row["text"].splitlines()[0][:60]
    when = format_local(row["send_at"], config.outreach) or "-"
    return (
        f"#{row['id']} {row['state']:<9} {when:<16} {row['audience']:<16} "
        f"[{progress.get('total', 0)} recipients: {counts}] {first}"
    )


def _guard(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turn staff mistakes into a clear message and exit status 2."""

    def run(args: argparse.Namespace) -> int:
        """Run the command, reporting bad input instead of a traceback."""
        try:
            return func(args) or 0
        except (OutreachError, ValueError) as exc:
            return _fail(str(exc))
        except OSError as exc:
            name = getattr(exc, "filename", "") or ""
            return _fail(f"Không đọc được tệp {name}: {exc.strerror or exc}")

    return run


@_guard
def _create(args: argparse.Namespace) -> int:
    """`broadcast create`."""
    config, db = _open(args)
    row = broadcasts.create_broadcast(
        db,
        config,
        args.text,
        args.audience,
        args.at,
        time.time(),
        link_url=args.link,
        link_title=args.link_title,
        image_url=args.image,
        draft=args.draft,
    )
    reach = audience.preview(db, row["audience"], time.time(), config.zalo)
    row["audience_preview"] = reach
    _emit(args, row, f"created {_describe(row, config)}\naudience now: {_reach(reach)}")
    return 0


def _reach(reach: dict[str, Any]) -> str:
    """How an audience would be reached, in words."""
    reasons = "; ".join(f"{REASON_LABELS.get(k, k)}: {v}" for k, v in reach["reasons"].items())
    return (
        f"{reach['total']} people: {reach['cs']} by message, {reach['template']} by template, "
        f"{reach['unreachable']} not reachable" + (f" ({reasons})" if reasons else "")
    )


@_guard
def _list(args: argparse.Namespace) -> int:
    """`broadcast list`."""
    config, db = _open(args)
    rows = broadcasts.list_broadcasts(db, time.time(), args.limit)
    text = "\n".join(_describe(r, config) for r in rows) or "no broadcasts"
    _emit(args, rows, text)
    return 0


@_guard
def _show(args: argparse.Namespace) -> int:
    """`broadcast show ID`."""
    config, db = _open(args)
    row = broadcasts.show_broadcast(db, args.id, time.time())
    while getattr(args, "watch", False) and row["state"] in ("scheduled", "sending"):
        print(_describe(row, config), file=sys.stderr, flush=True)
        time.sleep(2.0)
        row = broadcasts.show_broadcast(db, args.id, time.time())
    reasons = "\n".join(
        f"  not reachable: {REASON_LABELS.get(k, k)} ({v})"
        for k, v in row["unreachable_reasons"].items()
    )
    _emit(args, row, "\n".join(filter(None, [_describe(row, config), row["text"], reasons])))
    return 0


@_guard
def _cancel(args: argparse.Namespace) -> int:
    """`broadcast cancel ID`."""
    config, db = _open(args)
    row = broadcasts.cancel_broadcast(db, args.id, time.time())
    _emit(args, row, f"cancelled {_describe(row, config)}")
    return 0


@_guard
def _approve(args: argparse.Namespace) -> int:
    """`broadcast approve ID`."""
    config, db = _open(args)
    row = broadcasts.approve_broadcast(db, config, args.id, time.time(), args.at)
    _emit(args, row, f"approved {_describe(row, config)}")
    return 0


@_guard
def _audience(args: argparse.Namespace) -> int:
    """`broadcast audience AUDIENCE`."""
    config, db = _open(args)
    reach = audience.preview(db, args.audience, time.time(), config.zalo)
    _emit(args, reach, f"{reach['audience']}: {_reach(reach)}")
    return 0


def _progress(what: str, done: int, total: int) -> None:
    """Progress of long work on stderr (one updating line on a terminal)."""
    end = "\r" if sys.stderr.isatty() else "\n"
    print(f"{what}: {done}/{total}", end=end, file=sys.stderr, flush=True)


@_guard
def _sync(args: argparse.Namespace) -> int:
    """`followers sync`."""
    from bot.tokens import TokenStore
    from bot.zalo import ZaloClient, ZaloError

    config, db = _open(args)
    config_module.require(config, "zalo.app_id")
    client = ZaloClient(config.zalo, TokenStore(db, config))
    try:
        result = followers.sync_followers(db, client, time.time(), progress=_progress)
    except ZaloError as exc:
        print(f"error: Zalo refused the follower list: {exc}", file=sys.stderr)
        return 1
    tags = ", ".join(f"{k} ({v})" for k, v in result["tags"].items()) or "none"
    _emit(args, result, f"\n{result['followers']} followers ({result['new']} new); tags: {tags}")
    return 0


@_guard
def _import(args: argparse.Namespace) -> int:
    """`dossiers import FILE [--dry-run]`."""
    config, db = _open(args)
    data = Path(args.file).read_bytes()
    if args.dry_run:
        report = dossiers.preview_import(db, data, time.time())
    else:
        report = dossiers.apply_import(db, data, time.time())
    counts = report.summary()
    lines = [
        f"{args.file}: {counts['new']} hồ sơ mới, {counts['changed']} thay đổi, "
        f"{counts['unchanged']} không đổi, {counts['rejected']} dòng lỗi"
    ]
    for row in report.changed:
        lines.append(f"  dòng {row['line']}: {row['code']} thay đổi ({', '.join(row['fields'])})")
    for row in report.rejected:
        lines.append(f"  dòng {row['line']}: bỏ qua {row['code'] or '-'}: {row['reason']}")
    if report.ignored_columns:
        lines.append(f"  cột không dùng: {', '.join(report.ignored_columns)}")
    lines.append("đã áp dụng" if report.applied else "chạy thử: chưa thay đổi gì")
    _emit(args, report.to_dict(), "\n".join(lines))
    return 0


@_guard
def _dossier_show(args: argparse.Namespace) -> int:
    """`dossiers show CODE`."""
    config, db = _open(args)
    row = dossiers.search_dossier(db, args.code, time.time())
    if row is None:
        return _fail(f"Không có hồ sơ mã “{args.code}”.")
    text = "\n".join(f"{k}: {v}" for k, v in row.items())
    _emit(args, row, text)
    return 0
