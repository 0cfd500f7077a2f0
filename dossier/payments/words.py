"""Integer VND in Vietnamese words, for receipts ("Số tiền bằng chữ").

Northern convention, as on Hanoi agencies' receipts: "nghìn" (not "ngàn"), "lẻ" for an empty
tens place (not "linh"), "mốt" for 1 after a tens digit of 2-9, "tư" for 4 after a tens
digit of 2-9, "lăm" for 5 after any tens digit. Groups above a thousand billion reuse "tỷ":
10**12 is "một nghìn tỷ", 10**18 "một tỷ tỷ".

>>> vnd_in_words(1_005_000)
'Một triệu không trăm lẻ năm nghìn đồng'
>>> vnd_in_words(21_000)
'Hai mươi mốt nghìn đồng'
>>> vnd_in_words(0)
'Không đồng'
"""

from __future__ import annotations

from dossier.errors import InvalidInput

DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
_BILLION = 10**9


def _units(tens: int, unit: int) -> str:
    if unit == 1 and tens >= 2:
        return "mốt"
    if unit == 4 and tens >= 2:
        return "tư"
    if unit == 5 and tens >= 1:
        return "lăm"
    return DIGITS[unit]


def _three(number: int, *, full: bool) -> list[str]:
    """Words of 0 < ``number`` < 1000; ``full`` when a higher group precedes it."""
    hundreds, rest = divmod(number, 100)
    tens, unit = divmod(rest, 10)
    words: list[str] = []
    if hundreds or full:
        words += [DIGITS[hundreds], "trăm"]
    if tens == 0:
        if unit and words:
            words.append("lẻ")
    elif tens == 1:
        words.append("mười")
    else:
        words += [DIGITS[tens], "mươi"]
    if unit:
        words.append(_units(tens, unit))
    return words


def _below_billion(number: int, *, full: bool) -> list[str]:
    words: list[str] = []
    for scale, name in ((10**6, "triệu"), (10**3, "nghìn"), (1, "")):
        group = number // scale % 1000
        if group:
            words += _three(group, full=full or bool(words))
            if name:
                words.append(name)
    return words


def _words(number: int) -> list[str]:
    high, low = divmod(number, _BILLION)
    words: list[str] = []
    if high:
        words += [*_words(high), "tỷ"]
    if low:
        words += _below_billion(low, full=bool(high))
    return words


def number_in_words(number: int) -> str:
    """``number`` (≥ 0) in lower-case Vietnamese words: 1_005_000 → "một triệu … nghìn"."""
    if not isinstance(number, int) or isinstance(number, bool) or number < 0:
        raise InvalidInput(f"amount must be a non-negative integer, got {number!r}")
    return " ".join(_words(number)) if number else "không"


def vnd_in_words(amount: int) -> str:
    """An amount of VND as a receipt writes it: capitalised, ending in "đồng"."""
    text = f"{number_in_words(amount)} đồng"
    return text[0].upper() + text[1:]


def vnd_in_figures(amount: int) -> str:
    """``1005000`` → ``"1.005.000 đ"`` (dots group thousands in Vietnamese)."""
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise InvalidInput(f"amount must be an integer, got {amount!r}")
    return f"{amount:,} đ".replace(",", ".")
