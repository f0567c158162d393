"""Log masking: ID-card numbers, phone numbers and tokens never reach a log in clear."""

from __future__ import annotations

import io
import logging

import pytest

from bot.logs import MaskingFilter, configure_logging, mask


@pytest.mark.parametrize(
    "secret",
    [
        "001099012345",  # CCCD, 12 digits
        "123456789",  # old CMND, 9 digits
        "0912345678",
        "0912 345 678",
        "0912.345.678",
        "84912345678",
        "+84 912 345 678",
        "+84912345678",
        "0912-345-678",  # dashed
        "+84-912-345-678",
        "(+84) 912 345 678",
        "024 3826 1234",  # landline, 11 digits
        "SĐT:0912.345.678",  # prefixed
        "sdt0912345678",
        "0010 9901 2345",  # CCCD in groups of four
        "001-099-012-345",
        "CCCD001099012345",  # glued to its name
        "CCCD: 001099012345",
        "cmnd 123 456 789",
        "nguyen.van.a@gmail.com",  # e-mail addresses
        "tiep.dan+hoso@tayho.hanoi.gov.vn",
    ],
)
def test_personal_numbers_are_masked(secret):
    text = f"Số của tôi là {secret}, cảm ơn"
    masked = mask(text)
    assert secret not in masked and "cảm ơn" in masked


@pytest.mark.parametrize(
    "kept",
    [
        "user 246845883529197922",  # Zalo user id (18 digits)
        "timestamp 1700000000000",  # epoch ms (13 digits)
        "mã hồ sơ HS-2026-0001",
        "phí 50000 đồng",
        "msg 96d3cdf3af150460909",
        "mã hồ sơ 000.00.01.H26-260930-0012",  # a dossier code is not an ID number
        "2026-12-02 07:35:21,123",
        "HS-2026-0001",
    ],
)
def test_ids_timestamps_and_small_numbers_are_kept(kept):
    assert mask(kept) == kept


@pytest.mark.parametrize(
    "line",
    [
        "access_token=abc.DEF-123_x&app_id=1",
        '{"refresh_token": "r3fr3sh"}',
        "secret_key: s3cr3t",
        "token eyJhbGciOiJIUzI1NiJ9eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4",
    ],
)
def test_tokens_are_masked(line):
    masked = mask(line)
    for secret in ("abc.DEF-123_x", "r3fr3sh", "s3cr3t", "eyJhbGciOiJIUzI1NiJ9"):
        assert secret not in masked


def capture() -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskingFilter())
    logger = logging.getLogger("test.logs.capture")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, stream


def test_filter_masks_arguments_and_tracebacks():
    logger, stream = capture()
    logger.info("citizen %s wrote %r", "u1", "CCCD 001099012345, sđt 0912345678")
    try:
        raise ValueError("bad phone 0987654321")
    except ValueError:
        logger.exception("failed for %s", "123456789")
    output = stream.getvalue()
    for secret in ("001099012345", "0912345678", "0987654321", "123456789"):
        assert secret not in output
    assert "citizen u1 wrote" in output and "ValueError" in output


def test_configure_logging_installs_the_filter_on_the_root_handlers():
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    stream = io.StringIO()
    root.handlers[:] = [logging.StreamHandler(stream)]
    try:
        configure_logging("INFO")
        logging.getLogger("bot.anything").warning("phone 0912345678")
    finally:
        root.handlers[:], root.level = saved_handlers, saved_level
    assert "0912345678" not in stream.getvalue() and "phone" in stream.getvalue()
