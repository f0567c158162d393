"""Logging set-up for the entry points, with a filter that masks personal data and secrets.

Every record that reaches a handler installed here has Vietnamese ID-card numbers (CCCD 12
digits, CMND 9; grouped with spaces, dots or dashes, or glued to a "CCCD"/"CMND" prefix), phone
numbers (0, 84, +84 or (+84) followed by 9-10 digits, grouped the same ways, or glued to an
"SĐT"/"ĐT" prefix), e-mail addresses and access or refresh tokens replaced by a mask, in the
message, its arguments and any traceback.
"""

from __future__ import annotations

import logging
import re
import sys

FORMAT = "%(asctime)s %(levelname)s %(process)d %(name)s: %(message)s"

_SEP = r"[ .-]?"
_PHONE_DIGITS = rf"(?:\(?\+84\)?|84|0)(?:{_SEP}\d){{9,10}}"
_ID_DIGITS = rf"(?:\d(?:{_SEP}\d){{11}}|\d(?:{_SEP}\d){{8}})"
# Numbers standing alone: not glued to a word, nor continuing a code such as "H26-260930-0012".
_PHONE = re.compile(rf"(?<![\w.+(-]){_PHONE_DIGITS}(?!\w)")
_ID_CARD = re.compile(rf"(?<![\w.-]){_ID_DIGITS}(?!\w)")
# Numbers right after the word that names them ("CCCD001099012345", "SĐT:0912-345-678").
_PREFIXED = re.compile(
    rf"""(?ix)
    ((?:cccd|cmnd|cmt|căn\s*cước(?:\s*công\s*dân)?|số\s*định\s*danh|sđt|sdt|đt|dt|điện\s*thoại)
     \s*(?:số)?\s*[:#.=-]?\s*)
    ({_PHONE_DIGITS}|{_ID_DIGITS})(?!\d)
    """
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_SECRET_FIELD = re.compile(
    r"""(?ix)
    (access_token|refresh_token|secret_key|oa_secret_key|app_secret|appsecret_proof|code_verifier)
    (["']?\s*[:=]\s*["']?)
    ([^\s"'&,;}]+)
    """
)
_LONG_TOKEN = re.compile(r"(?<![\w-])(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[\w-]{40,}(?![\w-])")

MASK = "***"


def mask(text: str) -> str:
    """Return `text` with phone and ID-card numbers, e-mail addresses and tokens masked."""
    text = _SECRET_FIELD.sub(lambda m: m.group(1) + m.group(2) + MASK, text)
    text = _LONG_TOKEN.sub("[token " + MASK + "]", text)
    text = _EMAIL.sub("[email " + MASK + "]", text)
    text = _PREFIXED.sub(lambda m: m.group(1) + "[number " + MASK + "]", text)
    text = _PHONE.sub("[phone " + MASK + "]", text)
    return _ID_CARD.sub("[id " + MASK + "]", text)


class MaskingFilter(logging.Filter):
    """Rewrite each record's message (and traceback) with `mask` before it is formatted."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record in place; never drops a record."""
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what we can, masked
            message = f"{record.msg!r} {record.args!r}"
        record.msg = mask(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        if record.stack_info:
            record.stack_info = mask(record.stack_info)
        return True


def install_filter(logger: logging.Logger | None = None) -> None:
    """Add the masking filter to every handler of `logger` (the root logger by default)."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(MaskingFilter())


def configure_logging(level: int | str = logging.INFO) -> None:
    """Log to stderr at `level` through the masking filter (also on handlers already present)."""
    root = logging.getLogger()
    if isinstance(level, str):
        level = logging.getLevelName(level.upper())
    root.setLevel(level)
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(handler)
    install_filter(root)
    # gunicorn's own loggers do not propagate to the root: mask there too.
    for name in ("gunicorn.error", "gunicorn.access", "werkzeug"):
        install_filter(logging.getLogger(name))
    logging.getLogger("urllib3").setLevel(max(level, logging.WARNING))
    # APScheduler logs every run of every job at INFO (once a second here): keep its warnings.
    logging.getLogger("apscheduler").setLevel(max(level, logging.WARNING))
