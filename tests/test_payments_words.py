"""VND in Vietnamese words (Northern convention): worked examples and properties."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dossier.errors import InvalidInput
from dossier.payments.words import DIGITS, number_in_words, vnd_in_figures, vnd_in_words

FAST = settings(max_examples=300, deadline=None)


@pytest.mark.parametrize(("amount", "words"), [
    (0, "Không đồng"),
    (5, "Năm đồng"),
    (10, "Mười đồng"),
    (15, "Mười lăm đồng"),
    (21, "Hai mươi mốt đồng"),
    (24, "Hai mươi tư đồng"),
    (14, "Mười bốn đồng"),
    (105, "Một trăm lẻ năm đồng"),
    (1_001, "Một nghìn không trăm lẻ một đồng"),
    (21_000, "Hai mươi mốt nghìn đồng"),
    (305_000, "Ba trăm lẻ năm nghìn đồng"),
    (1_005_000, "Một triệu không trăm lẻ năm nghìn đồng"),
    (1_000_005, "Một triệu không trăm lẻ năm đồng"),
    (2_500_000_000, "Hai tỷ năm trăm triệu đồng"),
    (1_000_000_000_000, "Một nghìn tỷ đồng"),
    (1_000_000_000_005, "Một nghìn tỷ không trăm lẻ năm đồng"),
    (10**18, "Một tỷ tỷ đồng"),
])
def test_worked_examples(amount: int, words: str) -> None:
    assert vnd_in_words(amount) == words


@pytest.mark.parametrize("bad", [-1, 1.5, True, "100"])
def test_only_non_negative_integers(bad: object) -> None:
    with pytest.raises(InvalidInput):
        vnd_in_words(bad)  # type: ignore[arg-type]


def test_figures_group_thousands_with_dots() -> None:
    assert vnd_in_figures(1_005_000) == "1.005.000 đ"
    assert vnd_in_figures(500) == "500 đ"


VALUES = {word: digit for digit, word in enumerate(DIGITS)} | {
    "mốt": 1, "tư": 4, "lăm": 5, "lẻ": 0}


def parse_words(text: str) -> int:
    """Read our own output back (a reference reader written independently for the tests)."""
    words = text.split()
    if "tỷ" in words:
        last = len(words) - 1 - words[::-1].index("tỷ")
        return parse_words(" ".join(words[:last])) * 10**9 + (
            parse_words(" ".join(words[last + 1:])) if words[last + 1:] else 0)
    total, group, current = 0, 0, 0
    for word in words:
        if word == "trăm":
            group += current * 100
            current = 0
        elif word == "mười":
            current += 10
        elif word == "mươi":
            current *= 10
        elif word == "nghìn":
            total += (group + current) * 1000
            group = current = 0
        elif word == "triệu":
            total += (group + current) * 10**6
            group = current = 0
        else:
            current += VALUES[word]
    return total + group + current


@FAST
@given(st.integers(0, 10**21))
def test_words_read_back_to_the_number(amount: int) -> None:
    text = vnd_in_words(amount)
    assert text.endswith(" đồng")
    assert text[0].isupper()
    assert parse_words(number_in_words(amount)) == amount


@FAST
@given(st.integers(0, 10**15))
def test_mot_tu_lam_follow_the_tens_digit(amount: int) -> None:
    words = number_in_words(amount).split()
    for before, word in itertools.pairwise(words):
        if word == "mốt" or word == "tư":
            assert before == "mươi"
        if word == "lăm":
            assert before in ("mươi", "mười")
        if word == "một" and before == "mươi":
            raise AssertionError("'mươi một' must be 'mươi mốt'")
        if word == "năm" and before in ("mươi", "mười"):
            raise AssertionError("'mươi năm' must be 'mươi lăm'")
    assert "linh" not in words
    assert "ngàn" not in words


@FAST
@given(st.integers(0, 10**15))
def test_le_only_fills_an_empty_tens_place(amount: int) -> None:
    words = number_in_words(amount).split()
    for index, word in enumerate(words):
        if word == "lẻ":
            assert words[index - 1] == "trăm"
            assert words[index + 1] in DIGITS[1:]


def test_the_module_examples_run() -> None:
    import doctest

    from dossier.payments import words

    assert doctest.testmod(words).failed == 0


def test_the_package_quickstart_runs() -> None:
    import textwrap

    import dossier.payments

    doc = dossier.payments.__doc__ or ""
    code = textwrap.dedent(doc.split("Quickstart (against the in-process fake)::", 1)[1])
    exec(compile(code, "dossier.payments quickstart", "exec"), {})
