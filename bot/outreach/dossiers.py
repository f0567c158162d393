"""Dossiers from the one-stop system: codes, the CSV import (preview, apply) and staff search.

The CSV export (UTF-8, with or without the BOM Excel writes; comma, semicolon or tab separated)
has a header row naming these columns, in any order, with or without diacritics:

| column          | required | meaning                                                         |
|-----------------|----------|-----------------------------------------------------------------|
| Mã hồ sơ        | yes      | `000.00.01.H26-260930-0012` (domain-facts 3.1; any province)    |
| Thủ tục         | yes      | procedure name                                                  |
| Trạng thái      | yes      | a status label (see `STATUS_LABELS`)                            |
| Nơi tiếp nhận   | yes      | the receiving office                                            |
| Ngày hẹn trả    | no       | dd/mm/yyyy                                                      |
| Người nộp       | no       | applicant; only a masked form (initials) is stored              |
| Số điện thoại   | no       | stored normalised (0xxxxxxxxx), never shown in full             |
| Zalo user id    | no       | links the dossier to a Zalo user                                |

Other columns are ignored. Each bad row is rejected with its line number and reason; good rows
are applied in one transaction.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlite_utils

from bot.kb.needs import STATUS_KEYS
from bot.outreach.audience import OutreachError
from bot.outreach.clock import Moment, epoch
from bot.outreach.text import fold
from bot.storage import dossiers as store
from bot.storage import transaction

CODE_RE = re.compile(r"[0-9A-Z]{3}\.[0-9A-Z]{2}\.[0-9A-Z]{2}\.[A-Z]\d{2}-\d{6}-\d{4}")
DASHES = str.maketrans({"–": "-", "—": "-", "‐": "-", "‑": "-", "−": "-"})
FINAL_STATUSES = ("da_tra", "tu_choi", "dung_xu_ly")
"""Statuses after which nothing more is reminded."""

COLUMNS = {
    "ma_ho_so": "code",
    "ma_hs": "code",
    "so_ho_so": "code",
    "thu_tuc": "procedure",
    "ten_thu_tuc": "procedure",
    "nguoi_nop": "applicant",
    "chu_ho_so": "applicant",
    "ho_ten": "applicant",
    "so_dien_thoai": "phone",
    "sdt": "phone",
    "dien_thoai": "phone",
    "trang_thai": "status",
    "tinh_trang": "status",
    "noi_tiep_nhan": "office",
    "co_quan_tiep_nhan": "office",
    "ngay_hen_tra": "appointment",
    "ngay_hen": "appointment",
    "ngay_hen_tra_ket_qua": "appointment",
    "zalo_user_id": "zalo_user_id",
    "zalo_id": "zalo_user_id",
    "ma_zalo": "zalo_user_id",
}
REQUIRED_COLUMNS = ("code", "procedure", "status", "office")
COLUMN_NAMES = {
    "code": "Mã hồ sơ",
    "procedure": "Thủ tục",
    "status": "Trạng thái",
    "office": "Nơi tiếp nhận",
    "appointment": "Ngày hẹn trả",
    "applicant": "Người nộp",
    "phone": "Số điện thoại",
    "zalo_user_id": "Zalo user id",
}
"""Each field's column as the one-stop export names it (used in messages to staff)."""
STATUS_NAMES = {
    "cho_tiep_nhan": "Chờ tiếp nhận",
    "da_tiep_nhan": "Đã tiếp nhận",
    "dang_xu_ly": "Đang xử lý",
    "bo_sung": "Yêu cầu bổ sung",
    "tu_choi": "Từ chối",
    "tre_han": "Trễ hạn",
    "co_ket_qua": "Có kết quả",
    "da_tra": "Đã trả kết quả",
    "dung_xu_ly": "Dừng xử lý",
}
"""Each status as staff read it (the console and the command line)."""
CODE_EXAMPLE = "000.00.01.H26-260930-0012"

STATUS_LABELS = {
    "cho tiep nhan": "cho_tiep_nhan",
    "da nop truc tuyen": "cho_tiep_nhan",
    "moi nop": "cho_tiep_nhan",
    "da tiep nhan": "da_tiep_nhan",
    "tiep nhan": "da_tiep_nhan",
    "dang xu ly": "dang_xu_ly",
    "dang giai quyet": "dang_xu_ly",
    "yeu cau bo sung": "bo_sung",
    "bo sung": "bo_sung",
    "cho bo sung": "bo_sung",
    "tu choi": "tu_choi",
    "khong du dieu kien": "tu_choi",
    "tre han": "tre_han",
    "qua han": "tre_han",
    "hen lai": "tre_han",
    "co ket qua": "co_ket_qua",
    "da co ket qua": "co_ket_qua",
    "cho tra ket qua": "co_ket_qua",
    "da xu ly": "co_ket_qua",
    "da tra ket qua": "da_tra",
    "da tra": "da_tra",
    "hoan thanh": "da_tra",
    "dung xu ly": "dung_xu_ly",
    "rut ho so": "dung_xu_ly",
    "da rut ho so": "dung_xu_ly",
    **{key.replace("_", " "): key for key in STATUS_KEYS},
}


def normalize_code(text: str) -> str | None:
    """The dossier code in `text` (spaces, case and dash variants tolerated), or None."""
    found = find_codes(text)
    return found[0] if len(found) == 1 and len(re.sub(r"\s", "", text)) == len(found[0]) else None


def find_codes(text: str) -> list[str]:
    """Every dossier code in a message, normalised (upper case, no spaces), in order, unique."""
    squeezed = re.sub(r"\s+", "", text.translate(DASHES)).upper()
    codes: list[str] = []
    for code in CODE_RE.findall(squeezed):
        if code not in codes:
            codes.append(code)
    return codes


def mask_name(name: str) -> str:
    """Initials only: "Nguyễn Văn An" -> "N*** V*** A***"."""
    return " ".join(f"{word[0]}***" for word in name.split())


def normalize_phone(raw: str) -> str | None:
    """A Vietnamese phone number as 0xxxxxxxxx, or None when it is not one."""
    digits = re.sub(r"[\s.\-()]", "", raw)
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    elif re.fullmatch(r"[35789]\d{8}", digits):
        digits = "0" + digits  # Excel drops the leading zero of a number-formatted cell
    return digits if re.fullmatch(r"0\d{9}", digits) else None


def mask_phone(phone: str | None) -> str:
    """Only the last three digits of a phone number."""
    return "" if not phone else "*" * (len(phone) - 3) + phone[-3:]


def parse_date(raw: str, label: str = "Ngày") -> str:
    """dd/mm/yyyy (or d/m/yyyy, a time after it ignored; or ISO) into ISO; raise ValueError.

    The message names the value as `label` (the column) for staff.
    """
    day_part = raw.strip().split(" ")[0]
    match = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", day_part)
    iso = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", day_part)
    if match:
        day, month, year = (int(part) for part in match.groups())
    elif iso:
        year, month, day = (int(part) for part in iso.groups())
    else:
        raise ValueError(f"{label} “{raw}” không đúng dạng ngày/tháng/năm (ví dụ 02/12/2026).")
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        raise ValueError(f"{label} “{raw}” không phải ngày có thật.") from None


@dataclass
class ImportReport:
    """What an import found (and did): new, changed, unchanged and rejected rows by line."""

    new: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)
    unchanged: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    applied: bool = False

    def summary(self) -> dict[str, int]:
        """Counts per kind."""
        return {k: len(getattr(self, k)) for k in ("new", "changed", "unchanged", "rejected")}

    def to_dict(self) -> dict[str, Any]:
        """JSON form (rows carry line, code and, for rejects, the reason; no phone numbers)."""
        data = asdict(self)
        for kind in ("new", "changed", "unchanged"):
            data[kind] = [{k: v for k, v in row.items() if k != "values"} for row in data[kind]]
        data["summary"] = self.summary()
        return data


def _decode(data: bytes) -> str:
    """The file as text; raise OutreachError when it is not UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise OutreachError(
            "Tệp không phải văn bản UTF-8. Trong Excel, vui lòng lưu lại bằng "
            "“CSV UTF-8 (Comma delimited)”."
        ) from None


def _cells(reader: Any) -> Iterator[list[str]]:
    """The rows of a CSV reader; a malformed file becomes an OutreachError naming the line."""
    try:
        yield from reader
    except csv.Error as exc:
        raise OutreachError(
            f"Dòng {reader.line_num}: tệp CSV bị lỗi định dạng ({exc}). Vui lòng xuất lại tệp "
            "từ hệ thống một cửa dưới dạng CSV UTF-8."
        ) from None


def _reader(text: str) -> tuple[csv.reader, dict[int, str], list[str]]:
    """A CSV reader past the header, the column index -> field map, and ignored columns."""
    first = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(_cells(reader), None)
    if not header:
        raise OutreachError(
            "Tệp trống. Dòng đầu tiên phải là dòng tiêu đề (Mã hồ sơ, Thủ tục, Trạng thái, "
            "Nơi tiếp nhận)."
        )
    columns: dict[int, str] = {}
    ignored = []
    for index, name in enumerate(header):
        key = fold(name).replace(" ", "_")
        if key in COLUMNS and COLUMNS[key] not in columns.values():
            columns[index] = COLUMNS[key]
        elif name.strip():
            ignored.append(name.strip())
    missing = [c for c in REQUIRED_COLUMNS if c not in columns.values()]
    if missing:
        raise OutreachError(
            f"Dòng 1 (tiêu đề) thiếu cột {', '.join(COLUMN_NAMES[c] for c in missing)}. "
            "Tệp cần có các cột Mã hồ sơ, Thủ tục, Trạng thái, Nơi tiếp nhận (có thể thêm "
            "Ngày hẹn trả, Người nộp, Số điện thoại, Zalo user id)."
        )
    return reader, columns, ignored


def _required(raw: dict[str, str], errors: list[str]) -> dict[str, Any]:
    """The required cells of a row, each problem added to `errors`."""
    given = raw.get("code", "").strip()
    code = normalize_code(given)
    if not given:
        errors.append("Thiếu mã hồ sơ (cột “Mã hồ sơ” để trống).")
    elif not code:
        errors.append(f"Mã hồ sơ “{given}” không đúng dạng (ví dụ: {CODE_EXAMPLE}).")
    values: dict[str, Any] = {"code": code}
    for name in ("procedure", "office"):
        values[name] = raw.get(name, "").strip()
        if not values[name]:
            errors.append(f"Cột “{COLUMN_NAMES[name]}” để trống.")
    values["status"] = STATUS_LABELS.get(fold(raw.get("status", "")))
    given_status = raw.get("status", "").strip()
    if values["status"] is None:
        errors.append(
            "Cột “Trạng thái” để trống."
            if not given_status
            else f"Trạng thái “{given_status}” không có trong danh sách trạng thái hồ sơ "
            "(ví dụ: Đã tiếp nhận, Đang xử lý, Yêu cầu bổ sung, Đã có kết quả)."
        )
    return values


def _optional(raw: dict[str, str], values: dict[str, Any], warnings: list[str]) -> None:
    """The optional cells; a bad one is left empty and noted in `warnings`."""
    appointment = raw.get("appointment", "").strip()
    values["appointment"] = None
    if appointment:
        try:
            values["appointment"] = parse_date(appointment, "Ngày hẹn trả")
        except ValueError as exc:
            warnings.append(f"{exc} Đã bỏ trống ngày hẹn trả.")
    values["applicant"] = mask_name(raw.get("applicant", ""))
    phone = raw.get("phone", "").strip()
    values["phone"] = normalize_phone(phone) if phone else None
    if phone and values["phone"] is None:
        warnings.append(
            f"Số điện thoại (đuôi {phone[-3:]}) không phải số điện thoại Việt Nam hợp lệ; "
            "đã bỏ trống số điện thoại."
        )
    user = raw.get("zalo_user_id", "").strip()
    values["zalo_user_id"] = user if user.isdigit() else None
    if user and not user.isdigit():
        warnings.append(f"Zalo user id “{user}” chỉ được gồm chữ số; đã bỏ trống.")


def _validate(raw: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """A clean dossier from one row's cells and warnings about optional cells left empty.

    Raise ValueError listing every problem of a required cell; a bad optional cell (date,
    phone, Zalo id) does not reject the row, so the citizen can still look the dossier up.
    """
    errors: list[str] = []
    warnings: list[str] = []
    values = _required(raw, errors)
    _optional(raw, values, warnings)
    if errors:
        raise ValueError(" ".join(errors + warnings))
    return values, warnings


def preview_import(db: sqlite_utils.Database, data: bytes, now: Moment) -> ImportReport:
    """Validate a CSV export and compare it with what is stored; nothing is written."""
    reader, columns, ignored = _reader(_decode(data))
    report = ImportReport(ignored_columns=ignored)
    rows: list[tuple[int, dict[str, Any]]] = []
    seen: dict[str, int] = {}
    for cells in _cells(reader):
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        raw = {columns[i]: cell for i, cell in enumerate(cells) if i in columns}
        try:
            values, warnings = _validate(raw)
        except ValueError as exc:
            report.rejected.append(
                {"line": line, "code": raw.get("code", "").strip(), "reason": str(exc)}
            )
            continue
        if values["code"] in seen:
            report.rejected.append(
                {
                    "line": line,
                    "code": values["code"],
                    "reason": f"Trùng mã hồ sơ với dòng {seen[values['code']]}.",
                }
            )
            continue
        seen[values["code"]] = line
        rows.append((line, values))
        if warnings:
            report.warnings.append({"line": line, "code": values["code"], "warnings": warnings})
    stored = store.get_dossiers(db, [values["code"] for _, values in rows])
    for line, values in rows:
        old = stored.get(values["code"])
        entry = {"line": line, "code": values["code"], "values": values}
        if old is None:
            report.new.append(entry)
            continue
        fields = [name for name in store.DOSSIER_FIELDS if old.get(name) != values.get(name)]
        if fields:
            report.changed.append({**entry, "fields": fields})
        else:
            report.unchanged.append(entry)
    return report


def apply_import(db: sqlite_utils.Database, data: bytes, now: Moment) -> ImportReport:
    """Validate and store the good rows of a CSV export in one transaction; return the report."""
    with transaction(db):
        report = preview_import(db, data, now)
        for entry in report.new + report.changed:
            status_changed = "status" in entry.get("fields", ["status"])
            store.upsert_dossier(db, entry["code"], entry["values"], status_changed, epoch(now))
        report.applied = True
    return report


def search_dossier(db: sqlite_utils.Database, code: str, now: Moment) -> dict[str, Any] | None:
    """A dossier by code for staff (phone masked) with its subscriber count and reminders."""
    normal = normalize_code(code)
    row = store.get_dossier(db, normal) if normal else None
    if row is None:
        return None
    row["phone"] = mask_phone(row["phone"])
    reminders = store.reminders_for(db, row["code"])
    row["reminders"] = [
        {k: r[k] for k in ("kind", "at", "channel", "status", "reason")} for r in reminders
    ]
    row["subscribers"] = store.count_subscribers(db, row["code"])
    return row
