"""Bank transfer memos (nội dung chuyển khoản): finding a reference in text a bank mangled.

Shared by the VietQR adapter (matching credits) and reconciliation (matching statement
lines); neither is an adapter's business alone.
"""

from __future__ import annotations

from dossier.payments.base import compact_code
from dossier.payments.crypto import ascii_fold


def normalise_memo(memo: str) -> str:
    """Upper-case ASCII (diacritics dropped), punctuation kept for boundary checks."""
    return ascii_fold(memo).upper()


def memo_contains(memo: str, reference: str) -> bool:
    """Is ``reference`` (a dossier code or order reference) in a bank-mangled ``memo``?

    Both are compared without punctuation or spaces, case-insensitively. A hit counts only if
    no digit is glued on either side in the memo, so ``…-0001`` is not found in ``…-00012``.
    """
    wanted = compact_code(reference)
    text = normalise_memo(memo)
    letters = [(index, ch) for index, ch in enumerate(text) if ch.isalnum()]
    compact = "".join(ch for _, ch in letters)
    start = compact.find(wanted)
    while start >= 0:
        first = letters[start][0]
        last = letters[start + len(wanted) - 1][0]
        before = text[first - 1] if first > 0 else ""
        after = text[last + 1] if last + 1 < len(text) else ""
        if not before.isdigit() and not after.isdigit():
            return True
        start = compact.find(wanted, start + 1)
    return False
