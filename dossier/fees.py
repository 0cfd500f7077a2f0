"""Fee rules → integer VND. Pure functions of the rule and the fee basis."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dossier.errors import InvalidInput
from dossier.procedure.model import FeeKind, FeeRule


@dataclass(frozen=True, kw_only=True)
class Document:
    """A document the fee counts: its pages and how many copies are asked for."""

    pages: int = 1
    copies: int = 1


#: Plausibility bounds (not law): far above any real request, low enough that a fee computed
#: from them stays a small integer and a typo (10**9 pages) is refused at submit.
MAX_BASIS: dict[str, int] = {"pages": 100_000, "copies": 10_000, "documents": 1_000}


@dataclass(frozen=True, kw_only=True)
class FeeBasis:
    """What a fee depends on: the documents (pages × copies) of the request."""

    documents: tuple[Document, ...] = (Document(),)

    @property
    def copies(self) -> int:
        return sum(document.copies for document in self.documents)

    @classmethod
    def parse(cls, value: Mapping[str, Any] | FeeBasis | None) -> FeeBasis:
        """Accept ``{"pages": 3, "copies": 2}``, ``{"documents": [{...}, ...]}`` or ``None``."""
        if value is None:
            return cls()
        if isinstance(value, FeeBasis):
            return value
        if not isinstance(value, Mapping):
            raise InvalidInput("fee_basis must be a mapping like {'pages': 3, 'copies': 1}")
        if "documents" not in value:
            items: Any = [{k: v for k, v in value.items()}]
        elif set(value) != {"documents"}:
            raise InvalidInput("fee_basis: give either 'documents' or 'pages'/'copies'")
        else:
            items = value["documents"]
            if not isinstance(items, list | tuple):
                raise InvalidInput("fee_basis 'documents' must be a list of "
                                   "{'pages': …, 'copies': …} mappings")
        documents = []
        for index, item in enumerate(items):
            if not isinstance(item, Mapping) or set(item) - {"pages", "copies"}:
                raise InvalidInput(
                    f"fee_basis document {index}: only 'pages' and 'copies' are allowed")
            pages, copies = item.get("pages", 1), item.get("copies", 1)
            for name, number in (("pages", pages), ("copies", copies)):
                if not isinstance(number, int) or isinstance(number, bool) or number < 1:
                    raise InvalidInput(
                        f"fee_basis document {index}: {name} must be a positive integer")
                if number > MAX_BASIS[name]:
                    raise InvalidInput(f"fee_basis document {index}: {name} must be at most "
                                       f"{MAX_BASIS[name]:,}")
            documents.append(Document(pages=pages, copies=copies))
        if not documents:
            raise InvalidInput("fee_basis lists no documents")
        if len(documents) > MAX_BASIS["documents"]:
            raise InvalidInput(f"fee_basis lists more than {MAX_BASIS['documents']} documents")
        return cls(documents=tuple(documents))

    def as_dict(self) -> dict[str, Any]:
        return {"documents": [{"pages": d.pages, "copies": d.copies} for d in self.documents]}


def tiered_page_price(rule: FeeRule, pages: int) -> int:
    """Price of one copy of a ``pages``-page document under the rule's tiers and cap."""
    total = 0
    for tier in rule.tiers:
        last = pages if tier.to_page is None else min(pages, tier.to_page)
        if last >= tier.from_page:
            total += (last - tier.from_page + 1) * tier.per_page
    if rule.cap_per_copy is not None:
        total = min(total, rule.cap_per_copy)
    return total


def compute_fee(rule: FeeRule | None, basis: FeeBasis | None = None) -> int:
    """The amount due, in VND, for ``basis`` under ``rule`` (0 when there is no rule)."""
    if rule is None:
        return 0
    basis = basis or FeeBasis()
    kind = rule.kind
    if kind is FeeKind.EXEMPT:
        return 0
    if kind is FeeKind.FLAT:
        extra = 0
        if rule.extra_copy_from is not None:
            extra = max(0, basis.copies - rule.extra_copy_from + 1) * rule.extra_copy_amount
        return rule.amount + extra
    if kind is FeeKind.PER_COPY:
        return rule.amount * basis.copies
    return sum(tiered_page_price(rule, d.pages) * d.copies for d in basis.documents)
