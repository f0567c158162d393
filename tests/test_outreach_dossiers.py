"""Dossier codes and the one-stop CSV import: validation with reasons, preview, atomic apply."""

from __future__ import annotations

import json

import pytest

from bot import storage
from bot.outreach.audience import OutreachError
from bot.outreach.dossiers import (
    apply_import,
    find_codes,
    mask_name,
    normalize_phone,
    parse_date,
    preview_import,
    search_dossier,
)
from bot.storage import dossiers as store

T = 1_795_000_000.0

HEADER = (
    "Mã hồ sơ,Thủ tục,Người nộp,Số điện thoại,Trạng thái,Nơi tiếp nhận,Ngày hẹn trả,Zalo user id"
)
GOOD = [
    "000.00.01.H26-260930-0012,Đăng ký khai sinh,Nguyễn Văn An,0912 345 678,Đang xử lý,"
    "Trung tâm PVHCC phường Tây Hồ,02/12/2026,",
    "000.A0.01.H26-261001-0001,Chứng thực bản sao,Trần Thị Bình,,Đã tiếp nhận,"
    "Trung tâm PVHCC phường Tây Hồ,,1234567890",
]


@pytest.fixture
def db(tmp_path):
    return storage.connect(tmp_path / "bot.db")


def csv_bytes(*rows: str, bom: bool = True, sep: str = ",") -> bytes:
    text = "\r\n".join(line.replace(",", sep) for line in (HEADER, *rows)) + "\r\n"
    return ("\ufeff" if bom else "").encode() + text.encode("utf-8")


@pytest.mark.parametrize(
    "text, codes",
    [
        ("000.00.01.H26-260930-0012", ["000.00.01.H26-260930-0012"]),
        ("mã hồ sơ 000.00.01.h26-260930-0012 ạ", ["000.00.01.H26-260930-0012"]),
        ("000.00.01.H26 - 260930 - 0012", ["000.00.01.H26-260930-0012"]),
        ("000. 00. 01. H26–260930–0012", ["000.00.01.H26-260930-0012"]),
        ("000.00.12.G01-251111-0420 (hồ sơ nộp ở tỉnh khác)", ["000.00.12.G01-251111-0420"]),
        ("thủ tục 1.001022.000.00.00.H15 cần gì", []),
        ("hồ sơ của tôi đến đâu rồi", []),
    ],
)
def test_dossier_codes_are_found_tolerating_spaces_case_and_dashes(text, codes):
    assert find_codes(text) == codes


def test_import_applies_good_rows_and_rejects_bad_ones_with_line_and_reason(db):
    """A bad optional cell (date, phone) is left empty with a warning; the row is imported."""
    data = csv_bytes(
        *GOOD,
        "000.00.01.H26-26093-0012,Khai tử,,,Đang xử lý,UBND,,",
        "000.00.01.H26-260930-0013,Khai tử,,,Đang bay,UBND,,",
        "000.00.01.H26-260930-0014,Khai tử,,,Đang xử lý,UBND,31/02/2026,",
        "000.00.01.H26-260930-0015,Khai tử,,12345,Đang xử lý,UBND,,",
        "000.00.01.H26-260930-0016,,,,Đang xử lý,UBND,,",
        "000.00.01.h26-260930-0012,Khai sinh,,,Đang xử lý,UBND,,",
    )
    report = apply_import(db, data, T)
    assert report.applied
    assert [r["code"] for r in report.new] == [
        "000.00.01.H26-260930-0012",
        "000.A0.01.H26-261001-0001",
        "000.00.01.H26-260930-0014",
        "000.00.01.H26-260930-0015",
    ]
    reasons = {r["line"]: r["reason"] for r in report.rejected}
    warnings = {r["line"]: " ".join(r["warnings"]) for r in report.warnings}
    assert sorted(reasons) == [4, 5, 8, 9] and sorted(warnings) == [6, 7]
    assert reasons[4] == (
        "Mã hồ sơ “000.00.01.H26-26093-0012” không đúng dạng (ví dụ: 000.00.01.H26-260930-0012)."
    )
    assert reasons[5].startswith("Trạng thái “Đang bay” không có trong danh sách")
    assert warnings[6] == (
        "Ngày hẹn trả “31/02/2026” không phải ngày có thật. Đã bỏ trống ngày hẹn trả."
    )
    assert warnings[7].startswith("Số điện thoại (đuôi 345) không phải số điện thoại Việt Nam")
    assert "12345" not in warnings[7]
    assert store.get_dossier(db, "000.00.01.H26-260930-0015")["phone"] is None
    assert reasons[8] == "Cột “Thủ tục” để trống."
    assert reasons[9] == "Trùng mã hồ sơ với dòng 2."
    stored = store.get_dossier(db, "000.00.01.H26-260930-0012")
    assert stored["status"] == "dang_xu_ly" and stored["appointment"] == "2026-12-02"
    assert stored["applicant"] == "N*** V*** A***" and stored["phone"] == "0912345678"
    assert store.get_dossier(db, "000.A0.01.H26-261001-0001")["zalo_user_id"] == "1234567890"


def test_every_problem_of_a_row_is_reported(db):
    data = csv_bytes(*GOOD[:1], "000.00.01.H26-26093-0012,,,0123,Đang bay,UBND,99/99/2026,")
    report = preview_import(db, data, T)
    (rejected,) = report.rejected
    for part in ("Mã hồ sơ", "Thủ tục", "Trạng thái “Đang bay”", "Ngày hẹn trả", "đuôi 123"):
        assert part in rejected["reason"], part


def test_preview_changes_nothing_and_reimport_tells_new_changed_unchanged(db):
    first = preview_import(db, csv_bytes(*GOOD), T)
    assert first.summary() == {"new": 2, "changed": 0, "unchanged": 0, "rejected": 0}
    assert store.get_dossier(db, "000.00.01.H26-260930-0012") is None
    apply_import(db, csv_bytes(*GOOD), T)
    changed_row = GOOD[0].replace("Đang xử lý", "Đã có kết quả")
    again = apply_import(db, csv_bytes(changed_row, GOOD[1], bom=False, sep=";"), T + 60)
    assert again.summary() == {"new": 0, "changed": 1, "unchanged": 1, "rejected": 0}
    assert again.changed[0]["fields"] == ["status"]
    row = store.get_dossier(db, "000.00.01.H26-260930-0012")
    assert row["status"] == "co_ket_qua" and row["status_changed_at"] == T + 60


def test_report_json_never_carries_phone_numbers(db):
    report = preview_import(db, csv_bytes(*GOOD), T)
    text = json.dumps(report.to_dict(), ensure_ascii=False)
    assert "0912" not in text and "345" not in text


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "Tệp trống"),
        ("Mã hồ sơ,Trạng thái\n".encode(), "Dòng 1 \\(tiêu đề\\) thiếu cột Thủ tục, Nơi tiếp nhận"),
        (
            "Mã hồ sơ,Thủ tục,Trạng thái,Nơi tiếp nhận\n".encode("utf-16"),
            "không phải văn bản UTF-8",
        ),
        (
            ("Mã hồ sơ,Thủ tục,Trạng thái,Nơi tiếp nhận\nA,B,C," + "x" * 200_000).encode(),
            "Dòng 2: tệp CSV bị lỗi định dạng",
        ),
    ],
)
def test_unusable_files_are_refused_as_a_whole(db, data, message):
    with pytest.raises(OutreachError, match=message):
        preview_import(db, data, T)


def test_staff_search_masks_the_phone_number(db):
    apply_import(db, csv_bytes(*GOOD), T)
    found = search_dossier(db, " 000.00.01.h26-260930-0012 ", T)
    assert found["phone"] == "*******678"
    assert search_dossier(db, "000.00.01.H26-260930-9999", T) is None


def test_names_and_phones_are_masked_and_normalised():
    assert mask_name("Lê Thị Hồng Nhung") == "L*** T*** H*** N***"
    assert normalize_phone("+84 912.345.678") == "0912345678"
    assert normalize_phone("84912345678") == "0912345678"
    assert normalize_phone("091234567") is None
    assert normalize_phone("912345678") == "0912345678"  # Excel ate the zero
    assert normalize_phone("12345678") is None


@pytest.mark.parametrize(
    "raw, iso",
    [
        ("02/12/2026", "2026-12-02"),
        ("2/1/2027", "2027-01-02"),
        ("02/12/2026 14:00", "2026-12-02"),
        ("2026-12-02", "2026-12-02"),
    ],
)
def test_appointment_dates_in_the_forms_excel_writes(raw, iso):
    assert parse_date(raw) == iso


@pytest.mark.parametrize("raw", ["12/2026", "2/12/26", "mai", "32/01/2026"])
def test_impossible_appointment_dates_are_refused(raw):
    with pytest.raises(ValueError, match=f"Ngày “{raw}” không"):
        parse_date(raw)
