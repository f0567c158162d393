"""TOML syntax errors told in Vietnamese, naming the key being written and where it starts.

`tomllib` says only what it expected at one position ("Unclosed array (at line 22, column 3)");
staff need to hear which key they were writing and what to type, so each of its messages is
translated here. A message not known here keeps tomllib's text after a Vietnamese lead.
"""

from __future__ import annotations

import re

_WHERE = re.compile(
    r"^(?P<what>.*) \(at (?:line (?P<line>\d+), column (?P<col>\d+)|end of document)\)$"
)
_KEY_LINE = re.compile(r"""^\s*(?P<key>[A-Za-z0-9_-]+|"[^"]*"|'[^']*')\s*=""")
_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]")
_DATE_LIKE = re.compile(r"=\s*\d{4}-\d")


def _key_at(lines: list[str], line: int) -> tuple[str, int] | None:
    """The key assigned on `line` or the nearest line above it, with that line's number."""
    for number in range(min(line, len(lines)), 0, -1):
        text = lines[number - 1]
        found = _KEY_LINE.match(text)
        if found:
            return found.group("key").strip("\"'"), number
        if _HEADER.match(text):
            return None
    return None


def _open_multiline(lines: list[str]) -> int | None:
    """The line where a triple-quoted text opens and is never closed, if there is one."""
    opened: int | None = None
    for number, text in enumerate(lines, start=1):
        for _ in re.finditer(r'"""|\'\'\'', text):
            opened = None if opened else number
    return opened


def _first_line_of(lines: list[str], key: str, before: int) -> int | None:
    """The first line above `before` where `key` is assigned or declared as a table."""
    for number in range(1, before):
        text = lines[number - 1]
        found = _KEY_LINE.match(text)
        header = _HEADER.match(text)
        if (found and found.group("key").strip("\"'") == key) or (
            header and header.group(2).strip("\"'") == key
        ):
            return number
    return None


def _explain(what: str, lines: list[str], line: int, col: int) -> str:
    """The Vietnamese explanation of tomllib's `what` at `line`, `col`."""
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    opened = _open_multiline(lines) if what == "Unterminated string" else None
    here = _key_at(lines, opened or line)
    key, key_line = here if here else ("", line)
    of = f" của '{key}'" if key else ""
    started = f" (bắt đầu ở dòng {opened or key_line})" if key and key_line != line else ""
    return _value_problem(what, lines, text, (line, col), (key, of, started)) or _structure_problem(
        what, lines, text, line, key
    )


def _value_problem(
    what: str, lines: list[str], text: str, at: tuple[int, int], key: tuple[str, str, str]
) -> str:
    """A value written wrongly: quotes, lists, dates, escapes ("" when `what` is not one)."""
    (line, col), (name, of, started) = at, key
    char = text[col - 1] if 0 < col <= len(text) else ""
    keyed = _KEY_LINE.match(text)
    if what == "Invalid value" and keyed and col - 1 == len(text) - len(text.lstrip()):
        above = _key_at(lines, line - 1)
        if above:  # a key line met while a value (a list) was still open above it
            return (
                f"danh sách của '{above[0]}' (bắt đầu ở dòng {above[1]}) chưa có dấu ] đóng "
                f"trước dòng {line}"
            )
    if what == "Invalid value" and (char.isalpha() or char.isdigit()):
        return (
            f'giá trị{of} phải đặt trong ngoặc kép: viết {name or "khóa"} = "..." (ngày thì '
            "viết năm-tháng-ngày, ví dụ 2026-11-20, không ngoặc kép)"
        )
    if what == "Invalid value":
        return f'giá trị{of} không hợp lệ: văn bản trong ngoặc kép "...", danh sách trong [...]'
    if what.startswith("Illegal character") and "\\n" in what:
        return (
            f'văn bản{of} thiếu dấu ngoặc kép đóng " ở cuối dòng {line}; văn bản nhiều dòng thì '
            'đặt giữa ba dấu ngoặc kép """ ... """'
        )
    if what.startswith(("Illegal character", "Found invalid character")):
        return "dòng này có ký tự điều khiển không được phép (ký tự vô hình); hãy gõ lại dòng này"
    if what == "Unterminated string":
        return (
            f'văn bản{of}{started} chưa được đóng: thiếu dấu ngoặc kép đóng " (hoặc ba dấu """ '
            "nếu là văn bản nhiều dòng)"
        )
    if what == "Unclosed array":
        return (
            f"danh sách{of}{started} bị hỏng ở đây: thiếu dấu phẩy giữa hai mục (cuối dòng trên), "
            "hoặc thiếu dấu ] đóng danh sách"
        )
    if what == "Unclosed inline table":
        return f"bảng {{...}}{of}{started} thiếu dấu phẩy giữa hai mục hoặc thiếu dấu }} đóng"
    if what == "Invalid date or datetime" or (
        what.startswith("Expected newline") and _DATE_LIKE.search(text)
    ):
        return f"ngày{of} không có thật hoặc viết sai: viết năm-tháng-ngày, ví dụ 2026-11-20"
    if what.startswith("Expected newline or end of document"):
        return (
            f"sau giá trị{of} còn chữ thừa (cột {col}): nếu văn bản có dấu ngoặc kép bên trong, "
            'viết \\" hoặc dùng ngoặc kép cong “ ”; mỗi khóa viết trên một dòng riêng'
        )
    if what.startswith("Unescaped '\\'"):
        return f"văn bản{of} có dấu \\ đứng một mình; viết \\\\ hoặc bỏ dấu \\ đi"
    if what in ("Invalid hex value", "Escaped character is not a Unicode scalar value"):
        return f"văn bản{of} có mã \\u... không hợp lệ; hãy gõ thẳng ký tự đó"
    return ""


def _structure_problem(what: str, lines: list[str], text: str, line: int, key: str) -> str:
    """A line that is not `key = value`, a key written twice, a bad table header."""
    if what.startswith("Expected '=' after a key"):
        word = text.strip().split(" ")[0] if text.strip() else ""
        return (
            f"thiếu dấu = sau '{word}' (viết dạng khóa = giá trị); nếu đây là phần tiếp của một "
            'văn bản dài thì cả đoạn phải nằm giữa ba dấu ngoặc kép """ ... """'
        )
    if what in ("Invalid statement", "Invalid initial character for a key part"):
        return (
            "dòng này không phải dạng khóa = giá trị, [bảng] hay ghi chú bắt đầu bằng #; có thể "
            "là phần tiếp của văn bản dòng trên bị thiếu ngoặc kép"
        )
    if what == "Cannot overwrite a value" or what.startswith("Duplicate inline table key"):
        return _overwrite(lines, line, text)
    if what.startswith("Cannot declare"):
        header = _HEADER.match(text)
        name = header.group(2) if header else key
        first = _first_line_of(lines, name, line)
        at = f" (đã có ở dòng {first})" if first else ""
        return f"bảng [{name}] được khai báo hai lần{at}; gộp lại thành một"
    if what.startswith(("Cannot mutate immutable namespace", "Cannot redefine")):
        return f"'{key}' đã được viết trọn ở trên nên không thêm phần vào được; gộp lại một chỗ"
    if what.startswith("Expected ']"):
        return "tiêu đề bảng thiếu dấu ] đóng (viết [tên] hoặc [[tên]])"
    return f"không đọc được dòng này ({what})"


def _overwrite(lines: list[str], line: int, text: str) -> str:
    """A key (or a `[[key]]` table) written a second time."""
    header = _HEADER.match(text)
    if header:
        name = header.group(2).strip("\"'")
        first = _first_line_of(lines, name, line)
        at = f" ở dòng {first}" if first else ""
        if header.group(1) == "[[":
            return (
                f"'{name}' đã có giá trị thường{at} nên không thêm được phiên bản [[{name}]]: "
                f"xóa dòng {name} = ... và chỉ dùng các bảng [[{name}]]"
            )
        return f"'{name}' đã có giá trị{at}; không khai báo lại thành bảng [{name}]"
    found = _KEY_LINE.match(text)
    name = found.group("key").strip("\"'") if found else "khóa này"
    first = _first_line_of(lines, name, line)
    at = f" (đã có ở dòng {first})" if first else ""
    return f"'{name}' được viết hai lần{at}; mỗi khóa chỉ viết một lần trong một bảng"


def explain(error: str, text: str) -> tuple[int, str]:
    """The line and the Vietnamese message for tomllib's `error` about the file `text`."""
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    found = _WHERE.match(error)
    if not found:
        return max(len(lines), 1), f"lỗi cú pháp TOML: không đọc được tệp ({error})"
    what = found.group("what")
    if found.group("line"):
        line, col = int(found.group("line")), int(found.group("col"))
    else:  # "end of document": the last line that has something on it
        line = max((n for n, t in enumerate(lines, start=1) if t.strip()), default=1)
        col = len(lines[line - 1]) + 1 if lines else 1
    return line, f"lỗi cú pháp TOML (dòng {line}, cột {col}): {_explain(what, lines, line, col)}"
