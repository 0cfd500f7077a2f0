"""Fee rules → integer VND: worked examples and properties of :mod:`dossier.fees`."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dossier.errors import InvalidInput
from dossier.fees import Document, FeeBasis, compute_fee, tiered_page_price
from dossier.procedure import FeeRule, FeeTier

# Chứng thực bản sao từ bản chính (Thông tư 226/2016/TT-BTC): 2,000 đ/page for pages 1–2,
# 1,000 đ/page from page 3, at most 200,000 đ per copy.
CHUNG_THUC = FeeRule(kind="per_page", cap_per_copy=200_000, tiers=(
    FeeTier(from_page=1, to_page=2, per_page=2_000), FeeTier(from_page=3, per_page=1_000)))
# Lý lịch tư pháp (Thông tư 244/2016/TT-BTC): 200,000 đ, +5,000 đ per certificate from the 3rd.
LY_LICH = FeeRule(kind="flat", amount=200_000, extra_copy_from=3, extra_copy_amount=5_000)
PER_COPY = FeeRule(kind="per_copy", amount=8_000)
EXEMPT = FeeRule(kind="exempt", reason="Miễn lệ phí đăng ký khai sinh đúng hạn")

FAST = settings(max_examples=60, deadline=None)


def basis(pages: int = 1, copies: int = 1) -> FeeBasis:
    return FeeBasis(documents=(Document(pages=pages, copies=copies),))


def chung_thuc_by_hand(pages: int) -> int:
    return min(200_000, 2_000 * min(pages, 2) + 1_000 * max(0, pages - 2))


# --- worked examples ------------------------------------------------------------------------

@pytest.mark.parametrize(("pages", "price"), [
    (1, 2_000), (2, 4_000), (3, 5_000), (10, 12_000), (198, 200_000), (199, 200_000),
    (250, 200_000),
])
def test_chung_thuc_price_per_copy(pages: int, price: int) -> None:
    assert tiered_page_price(CHUNG_THUC, pages) == price
    assert compute_fee(CHUNG_THUC, basis(pages)) == price


def test_chung_thuc_multiplies_by_copies() -> None:
    assert compute_fee(CHUNG_THUC, basis(pages=3, copies=2)) == 10_000
    assert compute_fee(CHUNG_THUC, basis(pages=250, copies=3)) == 600_000


def test_chung_thuc_adds_up_documents_of_different_lengths() -> None:
    request = FeeBasis.parse({"documents": [{"pages": 1, "copies": 2}, {"pages": 5}]})
    assert compute_fee(CHUNG_THUC, request) == 2 * 2_000 + 7_000


@pytest.mark.parametrize(("copies", "fee"), [
    (1, 200_000), (2, 200_000), (3, 205_000), (4, 210_000), (10, 240_000)])
def test_ly_lich_tu_phap_charges_extra_from_the_third_certificate(copies: int, fee: int) -> None:
    assert compute_fee(LY_LICH, basis(copies=copies)) == fee


def test_flat_extra_copies_count_copies_across_documents() -> None:
    request = FeeBasis.parse({"documents": [{"copies": 2}, {"copies": 2}]})
    assert compute_fee(LY_LICH, request) == 210_000


def test_a_flat_fee_without_extra_copies_ignores_copies() -> None:
    rule = FeeRule(kind="flat", amount=75_000)
    assert compute_fee(rule, basis(pages=40, copies=5)) == 75_000


def test_per_copy_multiplies_by_copies() -> None:
    assert compute_fee(PER_COPY, basis(copies=3)) == 24_000


def test_exempt_and_no_rule_cost_nothing() -> None:
    assert compute_fee(EXEMPT, basis(pages=300, copies=9)) == 0
    assert compute_fee(None, basis(copies=4)) == 0


def test_the_default_basis_is_one_page_one_copy() -> None:
    assert compute_fee(CHUNG_THUC) == 2_000
    assert FeeBasis.parse(None) == FeeBasis() == basis()


def test_a_tier_price_of_zero_is_allowed_but_charges_nothing() -> None:
    free = FeeRule(kind="per_page", tiers=(FeeTier(from_page=1, per_page=0),))
    assert compute_fee(free, basis(pages=9, copies=2)) == 0
    assert not free.charges_money
    assert CHUNG_THUC.charges_money


# --- FeeBasis.parse ---------------------------------------------------------------------------

def test_parse_reads_pages_and_copies() -> None:
    assert FeeBasis.parse({"pages": 3, "copies": 2}) == basis(pages=3, copies=2)
    assert FeeBasis.parse({"copies": 4}) == basis(copies=4)
    assert FeeBasis.parse({}) == basis()


def test_parse_reads_a_list_of_documents() -> None:
    parsed = FeeBasis.parse({"documents": [{"pages": 3}, {"pages": 1, "copies": 2}]})
    assert parsed.documents == (Document(pages=3), Document(pages=1, copies=2))
    assert parsed.copies == 3


def test_parse_passes_a_fee_basis_through() -> None:
    given_basis = basis(pages=7)
    assert FeeBasis.parse(given_basis) is given_basis


def test_as_dict_round_trips_through_parse() -> None:
    original = FeeBasis.parse({"documents": [{"pages": 3}, {"pages": 12, "copies": 4}]})
    assert FeeBasis.parse(original.as_dict()) == original


@pytest.mark.parametrize("bad", [
    [("pages", 3)],
    "pages=3",
    3,
    {"pages": 0},
    {"pages": -1},
    {"copies": 0},
    {"pages": 2.5},
    {"pages": "3"},
    {"pages": True},
    {"pages": None},
    {"page": 3},
    {"pages": 3, "colour": True},
    {"documents": []},
    {"documents": [3]},
    {"documents": [{"pages": 0}]},
    {"documents": [{"pages": 2}], "pages": 2},
    {"documents": 5},
    {"documents": None},
    {"documents": "abc"},
    {"documents": {"pages": 2}},
])
def test_parse_rejects_malformed_input_with_invalid_input(bad: Any) -> None:
    with pytest.raises(InvalidInput, match="fee_basis"):
        FeeBasis.parse(bad)


def test_invalid_input_is_also_a_value_error() -> None:
    with pytest.raises(ValueError, match="pages must be a positive integer"):
        FeeBasis.parse({"pages": 0})


# --- properties -----------------------------------------------------------------------------

pages_st = st.integers(min_value=1, max_value=2_000)
copies_st = st.integers(min_value=1, max_value=50)


@st.composite
def per_page_rules(draw: st.DrawFn) -> FeeRule:
    """Any valid per_page rule: 1–4 contiguous tiers from page 1, optionally capped."""
    cuts = draw(st.lists(st.integers(min_value=1, max_value=300), max_size=3, unique=True))
    bounds = sorted(cuts)
    tiers, start = [], 1
    for end in bounds:
        tiers.append(FeeTier(from_page=start, to_page=end,
                             per_page=draw(st.integers(min_value=0, max_value=10_000))))
        start = end + 1
    tiers.append(FeeTier(from_page=start, per_page=draw(st.integers(0, 10_000))))
    cap = draw(st.none() | st.integers(min_value=1, max_value=1_000_000))
    return FeeRule(kind="per_page", tiers=tuple(tiers), cap_per_copy=cap)


@FAST
@given(rule=per_page_rules(), pages=pages_st, copies=copies_st)
def test_per_page_fee_never_decreases_with_more_pages(rule: FeeRule, pages: int,
                                                      copies: int) -> None:
    assert compute_fee(rule, basis(pages, copies)) <= compute_fee(rule, basis(pages + 1, copies))


@FAST
@given(rule=per_page_rules(), pages=pages_st, copies=copies_st)
def test_per_page_fee_never_exceeds_the_cap_times_copies(rule: FeeRule, pages: int,
                                                         copies: int) -> None:
    fee = compute_fee(rule, basis(pages, copies))
    assert fee >= 0
    if rule.cap_per_copy is not None:
        assert fee <= rule.cap_per_copy * copies


@FAST
@given(rule=per_page_rules(), pages=pages_st, copies=copies_st)
def test_per_page_fee_is_linear_in_copies(rule: FeeRule, pages: int, copies: int) -> None:
    assert compute_fee(rule, basis(pages, copies)) == copies * tiered_page_price(rule, pages)


@FAST
@given(rule=per_page_rules(), documents=st.lists(
    st.tuples(pages_st, copies_st), min_size=1, max_size=5))
def test_per_page_fee_of_several_documents_is_the_sum_of_each(
        rule: FeeRule, documents: list[tuple[int, int]]) -> None:
    request = FeeBasis(documents=tuple(Document(pages=p, copies=c) for p, c in documents))
    assert compute_fee(rule, request) == sum(compute_fee(rule, basis(p, c)) for p, c in documents)


@FAST
@given(rule=per_page_rules(), pages=pages_st)
def test_an_uncapped_price_is_the_sum_of_each_page_price(rule: FeeRule, pages: int) -> None:
    uncapped = rule.model_copy(update={"cap_per_copy": None})
    price_of_page = [next(t.per_page for t in rule.tiers
                          if t.from_page <= page and (t.to_page is None or page <= t.to_page))
                     for page in range(1, pages + 1)]
    assert tiered_page_price(uncapped, pages) == sum(price_of_page)
    assert tiered_page_price(rule, pages) == min(sum(price_of_page),
                                                 rule.cap_per_copy or sum(price_of_page))


@FAST
@given(pages=pages_st, copies=copies_st)
def test_chung_thuc_fee_matches_the_hand_formula(pages: int, copies: int) -> None:
    assert compute_fee(CHUNG_THUC, basis(pages, copies)) == chung_thuc_by_hand(pages) * copies


@FAST
@given(amount=st.integers(0, 1_000_000), extra_from=st.integers(2, 10),
       extra=st.integers(1, 50_000), copies=copies_st)
def test_flat_fee_adds_the_extra_amount_for_each_copy_from_the_threshold(
        amount: int, extra_from: int, extra: int, copies: int) -> None:
    rule = FeeRule(kind="flat", amount=amount, extra_copy_from=extra_from,
                   extra_copy_amount=extra)
    expected = amount + max(0, copies - extra_from + 1) * extra
    assert compute_fee(rule, basis(copies=copies)) == expected
    assert compute_fee(rule, basis(copies=copies)) <= compute_fee(rule, basis(copies=copies + 1))


@FAST
@given(amount=st.integers(0, 1_000_000), copies=copies_st, pages=pages_st)
def test_per_copy_fee_is_linear_in_copies_and_ignores_pages(amount: int, copies: int,
                                                            pages: int) -> None:
    rule = FeeRule(kind="per_copy", amount=amount)
    assert compute_fee(rule, basis(pages, copies)) == amount * copies


@FAST
@given(documents=st.lists(st.tuples(pages_st, copies_st), min_size=1, max_size=5))
def test_an_exempt_fee_is_always_zero(documents: list[tuple[int, int]]) -> None:
    request = FeeBasis(documents=tuple(Document(pages=p, copies=c) for p, c in documents))
    assert compute_fee(EXEMPT, request) == 0


@FAST
@given(rule=per_page_rules() | st.sampled_from([LY_LICH, PER_COPY, EXEMPT]),
       pages=pages_st, copies=copies_st)
def test_every_fee_is_a_non_negative_int(rule: FeeRule, pages: int, copies: int) -> None:
    fee = compute_fee(rule, basis(pages, copies))
    assert type(fee) is int
    assert fee >= 0


@FAST
@given(pages=st.integers(max_value=0) | st.floats(allow_nan=True) | st.text(max_size=3)
       | st.booleans() | st.none())
def test_parse_rejects_anything_but_a_positive_integer_page_count(pages: Any) -> None:
    with pytest.raises(InvalidInput):
        FeeBasis.parse({"pages": pages})


@pytest.mark.parametrize(("basis", "message"), [
    ({"pages": 100_001}, "pages must be at most 100,000"),
    ({"copies": 10**12}, "copies must be at most 10,000"),
    ({"documents": [{"pages": 1}] * 1001}, "more than 1000 documents"),
])
def test_a_fee_basis_beyond_any_real_request_is_refused(basis: dict[str, object],
                                                         message: str) -> None:
    from dossier.fees import FeeBasis

    with pytest.raises(InvalidInput, match=message):
        FeeBasis.parse(basis)
