"""`python -m bot broadcast ...`, `followers sync` and `dossiers import|show` for staff.

Help and output are in Vietnamese for the communications team; command and option names, and
the `--json` output, stay as they are (scripts rely on them).
"""

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
from bot.clihelp import group, subcommand
from bot.config import Config
from bot.outreach import audience, broadcasts, dossiers, followers, sendcheck
from bot.outreach.audience import REASON_LABELS, OutreachError
from bot.outreach.broadcasts import STATE_NAMES
from bot.outreach.clock import format_local
from bot.outreach.dossiers import COLUMN_NAMES, STATUS_NAMES

AUDIENCE_HELP = "all (mọi người quan tâm) | tag:TÊN_NHÃN | ward:MÃ_PHƯỜNG | recent:SỐ_NGÀY"
IMPORT_COLUMNS = """Các cột (dòng tiêu đề, thứ tự bất kỳ, có hoặc không dấu):
  Mã hồ sơ        bắt buộc  ví dụ 000.00.01.H26-260930-0012 (mã tỉnh nào cũng được)
  Thủ tục         bắt buộc  tên thủ tục
  Trạng thái      bắt buộc  ví dụ Đã tiếp nhận, Đang xử lý, Yêu cầu bổ sung, Từ chối,
                            Trễ hạn, Đã có kết quả, Đã trả kết quả, Dừng xử lý
  Nơi tiếp nhận   bắt buộc  nơi tiếp nhận hồ sơ
  Ngày hẹn trả    không bắt buộc  dd/mm/yyyy
  Người nộp       không bắt buộc  chỉ lưu chữ cái đầu của họ tên
  Số điện thoại   không bắt buộc  có lưu, nhưng không bao giờ hiện đầy đủ
  Zalo user id    không bắt buộc  gắn hồ sơ với tài khoản Zalo của người dân
Tệp UTF-8 (có hoặc không BOM), phân cách bằng dấu phẩy, chấm phẩy hoặc tab. Dòng lỗi được liệt
kê kèm số dòng và mọi lý do rồi bỏ qua; ô không bắt buộc sai (ngày hẹn, số điện thoại,
Zalo user id) được để trống kèm lưu ý, hồ sơ vẫn được nhập. Các dòng hợp lệ được áp dụng cùng
một lần."""
PROGRESS_NAMES = {
    "sent": "đã gửi",
    "not_reachable": "không gửi được",
    "failed": "gửi lỗi",
    "pending": "đang chờ",
    "cancelled": "đã hủy",
}
"""Broadcast progress counts as staff read them."""
CHANNEL_NAMES = {"cs": "tin tư vấn", "template": "tin mẫu"}
REMINDER_STATUS = {
    "queued": "đã đưa vào hàng gửi",
    "informed": "đã báo ngay khi người dân tra cứu",
    "unreachable": "không gửi được",
}


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register `broadcast`, `followers` and `dossiers`."""
    _, commands = group(
        subparsers, "broadcast", "tạo, duyệt, xem, liệt kê hoặc hủy thông báo gửi người quan tâm"
    )
    create = subcommand(commands, "create", "hẹn giờ gửi một thông báo (hoặc lưu bản nháp)")
    create.add_argument("--text", required=True, metavar="NỘI_DUNG", help="tối đa 2.000 ký tự")
    create.add_argument(
        "--at",
        default=None,
        metavar="THỜI_ĐIỂM",
        help="thời điểm gửi dạng ISO, ví dụ 2026-12-01T08:00 (giờ Việt Nam); không nhận "
        "thời điểm đã qua",
    )
    create.add_argument("--now", action="store_true", help="gửi ngay (thay cho --at)")
    create.add_argument("--audience", required=True, metavar="NGƯỜI_NHẬN", help=AUDIENCE_HELP)
    create.add_argument("--link", default=None, metavar="URL", help="đường dẫn hiện dưới nội dung")
    create.add_argument("--link-title", default=None, metavar="TÊN", help="tên nút đường dẫn")
    create.add_argument("--image", default=None, metavar="URL", help="đường dẫn ảnh (jpg/png)")
    create.add_argument("--draft", action="store_true", help="lưu bản nháp để duyệt sau")
    create.set_defaults(func=_create)

    listing = subcommand(commands, "list", "các thông báo gần đây kèm tiến độ gửi")
    listing.add_argument("--limit", type=int, default=50, metavar="SỐ", help="tối đa bao nhiêu")
    listing.set_defaults(func=_list)
    for name, func, text in (
        ("show", _show, "xem một thông báo kèm số người đã nhận"),
        ("cancel", _cancel, "hủy một thông báo nháp, đã hẹn giờ hoặc đang gửi"),
        ("approve", _approve, "duyệt một bản nháp (bản nháp từ tin tức cần duyệt)"),
    ):
        sub = subcommand(commands, name, text)
        sub.add_argument("id", type=int, metavar="SỐ", help="số của thông báo")
        if name == "approve":
            sub.add_argument("--at", default=None, metavar="THỜI_ĐIỂM", help="now hoặc giờ ISO")
        if name == "show":
            sub.add_argument(
                "--watch", action="store_true", help="in tiến độ 2 giây một lần đến khi gửi xong"
            )
        sub.set_defaults(func=func)
    preview = subcommand(commands, "audience", "đếm số người nhận và cách gửi được đến họ")
    preview.add_argument("audience", metavar="NGƯỜI_NHẬN", help=AUDIENCE_HELP)
    preview.set_defaults(func=_audience)
    for sub in commands.choices.values():
        sub.add_argument("--json", action="store_true", help="in kết quả dạng JSON")

    _, fol_commands = group(subparsers, "followers", "đồng bộ người quan tâm và nhãn từ Zalo")
    sync = subcommand(fol_commands, "sync", "tải toàn bộ danh sách người quan tâm và nhãn của OA")
    sync.add_argument("--json", action="store_true", help="in kết quả dạng JSON")
    sync.set_defaults(func=_sync)

    _, dos_commands = group(subparsers, "dossiers", "nhập và tra cứu hồ sơ từ hệ thống một cửa")
    imp = subcommand(
        dos_commands,
        "import",
        "kiểm tra, xem trước và áp dụng tệp CSV xuất từ hệ thống một cửa",
        epilog=IMPORT_COLUMNS,
    )
    imp.add_argument("file", metavar="TỆP", help="tệp CSV (UTF-8, có hoặc không BOM)")
    imp.add_argument("--dry-run", action="store_true", help="chỉ xem trước, không thay đổi gì")
    imp.add_argument("--json", action="store_true", help="in báo cáo dạng JSON")
    imp.set_defaults(func=_import)
    show = subcommand(dos_commands, "show", "xem một hồ sơ theo mã (số điện thoại được che)")
    show.add_argument("code", metavar="MÃ_HỒ_SƠ", help="ví dụ 000.00.01.H26-260930-0012")
    show.add_argument("--json", action="store_true", help="in kết quả dạng JSON")
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
    """One line about a broadcast: number, state, local send time, audience, progress."""
    progress = row.get("progress", {})
    counts = ", ".join(
        f"{PROGRESS_NAMES.get(k, k)} {v}" for k, v in progress.items() if k != "total"
    )
    first = row["text"].splitlines()[0][:60]
    when = format_local(row["send_at"], config.outreach) or "-"
    state = STATE_NAMES.get(row["state"], row["state"])
    return (
        f"#{row['id']} {state:<14} {when:<16} {row['audience']:<16} "
        f"[{progress.get('total', 0)} người nhận: {counts}] {first}"
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


def _when(args: argparse.Namespace, config: Config, now: float) -> str:
    """The send time asked for (`now` or ISO), checked: not past, warned in quiet hours."""
    if args.now and args.at:
        raise OutreachError("Chỉ dùng một trong hai: --at THỜI_ĐIỂM hoặc --now.")
    if args.now or (args.at or "").strip().lower() == "now":
        at = "now"
    elif args.at is None:
        if args.draft:
            return "now"
        raise OutreachError(
            "Hãy ghi --at THỜI_ĐIỂM (ví dụ 2026-12-01T08:00) để hẹn giờ, hoặc --now để gửi ngay."
        )
    else:
        at = args.at
    warning = sendcheck.quiet_warning(sendcheck.send_time(at, now, config), config)
    if warning:
        print(warning, file=sys.stderr)
    return at


@_guard
def _create(args: argparse.Namespace) -> int:
    """`broadcast create`."""
    config, db = _open(args)
    now = time.time()
    sendcheck.check_audience(db, args.audience, config)
    at = _when(args, config, now)
    row = broadcasts.create_broadcast(
        db,
        config,
        args.text,
        args.audience,
        at,
        now,
        link_url=args.link,
        link_title=args.link_title,
        image_url=args.image,
        draft=args.draft,
    )
    reach = audience.preview(db, row["audience"], time.time(), config.zalo)
    row["audience_preview"] = reach
    done = "Đã lưu bản nháp" if row["state"] == "draft" else "Đã tạo thông báo"
    text = f"{done}: {_describe(row, config)}\nNgười nhận hiện nay: {_reach(reach)}"
    _emit(args, row, text)
    return 0


def _reach(reach: dict[str, Any]) -> str:
    """How an audience would be reached, in words."""
    reasons = "; ".join(f"{REASON_LABELS.get(k, k)}: {v}" for k, v in reach["reasons"].items())
    return (
        f"{reach['total']} người: {reach['cs']} nhận qua tin tư vấn, {reach['template']} qua "
        f"tin mẫu, {reach['unreachable']} không gửi được" + (f" ({reasons})" if reasons else "")
    )


@_guard
def _list(args: argparse.Namespace) -> int:
    """`broadcast list`."""
    config, db = _open(args)
    rows = broadcasts.list_broadcasts(db, time.time(), args.limit)
    text = "\n".join(_describe(r, config) for r in rows) or "Chưa có thông báo nào."
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
        f"  Không gửi được vì {REASON_LABELS.get(k, k)}: {v} người"
        for k, v in row["unreachable_reasons"].items()
    )
    _emit(args, row, "\n".join(filter(None, [_describe(row, config), row["text"], reasons])))
    return 0


@_guard
def _cancel(args: argparse.Namespace) -> int:
    """`broadcast cancel ID`."""
    config, db = _open(args)
    row = broadcasts.cancel_broadcast(db, args.id, time.time())
    _emit(args, row, f"Đã hủy thông báo: {_describe(row, config)}")
    return 0


@_guard
def _approve(args: argparse.Namespace) -> int:
    """`broadcast approve ID`."""
    config, db = _open(args)
    if args.at:
        sendcheck.send_time(args.at, time.time(), config)
    row = broadcasts.approve_broadcast(db, config, args.id, time.time(), args.at)
    _emit(args, row, f"Đã duyệt thông báo: {_describe(row, config)}")
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
    name = "người quan tâm" if what == "followers" else what.replace("tag ", "nhãn ", 1)
    end = "\r" if sys.stderr.isatty() else "\n"
    print(f"Đang tải {name}: {done}/{total}", end=end, file=sys.stderr, flush=True)


@_guard
def _sync(args: argparse.Namespace) -> int:
    """`followers sync`."""
    from bot.zalo.client import ZaloClient, ZaloError
    from bot.zalo.tokens import TokenStore

    config, db = _open(args)
    config_module.require(config, "zalo.app_id")
    client = ZaloClient(config.zalo, TokenStore(db, config))
    try:
        result = followers.sync_followers(db, client, time.time(), progress=_progress)
    except ZaloError as exc:
        print(f"Lỗi: Zalo không trả danh sách người quan tâm: {exc}", file=sys.stderr)
        return 1
    tags = ", ".join(f"{k} ({v})" for k, v in result["tags"].items()) or "không có"
    text = f"\nĐã đồng bộ {result['followers']} người quan tâm ({result['new']} người mới); "
    _emit(args, result, text + f"nhãn: {tags}")
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
        fields = ", ".join(COLUMN_NAMES.get(f, f) for f in row["fields"])
        lines.append(f"  dòng {row['line']}: {row['code']} thay đổi ({fields})")
    for row in report.rejected:
        lines.append(f"  dòng {row['line']}: bỏ qua {row['code'] or '-'}: {row['reason']}")
    for row in report.warnings:
        lines.append(
            f"  dòng {row['line']}: nhập {row['code']}, lưu ý: {' '.join(row['warnings'])}"
        )
    if report.ignored_columns:
        lines.append(f"  cột không dùng: {', '.join(report.ignored_columns)}")
    lines.append("Đã áp dụng." if report.applied else "Chạy thử: chưa thay đổi gì.")
    _emit(args, report.to_dict(), "\n".join(lines))
    return 0


@_guard
def _dossier_show(args: argparse.Namespace) -> int:
    """`dossiers show CODE`."""
    config, db = _open(args)
    row = dossiers.search_dossier(db, args.code, time.time())
    if row is None:
        return _fail(f"Không có hồ sơ mã “{args.code}”.")
    _emit(args, row, _dossier_text(row, config))
    return 0


def _dossier_text(row: dict[str, Any], config: Config) -> str:
    """A stored dossier, its subscribers and reminders, as staff read them."""
    status = STATUS_NAMES.get(row["status"], row["status"])
    values = {
        **row,
        "status": f"{status} ({row['status']})",
        "appointment": _day(row["appointment"]),
    }
    lines = [f"{COLUMN_NAMES[k]}: {values[k] or '-'}" for k in COLUMN_NAMES]
    for key, label in (
        ("imported_at", "Nhập lần đầu"),
        ("updated_at", "Cập nhật"),
        ("status_changed_at", "Đổi trạng thái"),
    ):
        lines.append(f"{label}: {format_local(row[key], config.outreach)}")
    lines.append(f"Số người đăng ký nhận nhắc: {row['subscribers']}")
    for item in row["reminders"]:
        kind = "báo có kết quả" if item["kind"] == "result_ready" else item["kind"]
        if kind.startswith("appointment:"):
            kind = "nhắc lịch hẹn " + _day(kind.partition(":")[2])
        how = CHANNEL_NAMES.get(item["channel"] or "", "")
        status = REMINDER_STATUS.get(item["status"], item["status"])
        reason = REASON_LABELS.get(item["reason"] or "", item["reason"] or "")
        detail = ", ".join(filter(None, [how, status, reason]))
        lines.append(f"  {format_local(item['at'], config.outreach)} {kind}: {detail}")
    return "\n".join(lines)


def _day(iso: str | None) -> str | None:
    """An ISO date as dd/mm/yyyy, the way the one-stop office writes it."""
    if not iso or len(iso) != 10:
        return iso
    year, month, day = iso.split("-")
    return f"{day}/{month}/{year}"
