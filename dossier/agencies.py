"""The agency directory: who the agencies are, by code, and how they nest.

Dossiers, payments and signatures name an agency by its code (mã định danh điện tử of the
agency, e.g. ``000.00.12.H12``); people read its name. The directory maps one to the other
and knows what printed paperwork needs (address, tax code for receipts) and the hierarchy
the quality report rolls up (a province's departments and communes under it).

Levels follow local government since 1/7/2025 (Luật Tổ chức chính quyền địa phương
72/2025/QH15: two levels, province and commune), plus ``central`` for ministries and their
units and ``department`` for a province's specialised bodies (sở, ban, ngành).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from dossier import text
from dossier.errors import InvalidInput

LEVELS = ("central", "province", "department", "commune")


@dataclass(frozen=True, kw_only=True)
class Agency:
    """One agency (cơ quan) that receives or settles dossiers."""

    code: str
    name: str                          # "Ủy ban nhân dân xã Thử Nghiệm"
    short_name: str = ""               # "UBND xã Thử Nghiệm"
    place: str = ""                    # the place of the date line: "Thử Nghiệm, ngày …"
    address: str = ""
    tax_code: str = ""                 # mã số thuế of the collecting unit (receipts)
    level: str = "commune"
    parent: str | None = None          # the code of the agency above it
    signer: str | None = None          # the name of its default signer, if any

    def __post_init__(self) -> None:
        for field_name, kind in (("code", text.Kind.AGENCY), ("name", text.Kind.LABEL)):
            problem = text.problem(getattr(self, field_name), kind)
            if problem:
                raise InvalidInput(f"agency {field_name}: {problem}")
        if self.level not in LEVELS:
            raise InvalidInput(f"agency {self.code}: level must be one of {', '.join(LEVELS)}")
        # 10 digits, or 10 + "-" + 3 for a branch (Thông tư 105/2020/TT-BTC, Điều 5)
        if self.tax_code and not _is_tax_code(self.tax_code):
            raise InvalidInput(f"agency {self.code}: tax_code must be 10 digits, or 10 digits "
                               "'-' 3 digits for a dependent unit")
        if self.parent == self.code:
            raise InvalidInput(f"agency {self.code} cannot be its own parent")

    @property
    def display_name(self) -> str:
        """The name printed on paperwork: the short name when there is one."""
        return self.short_name or self.name


def _is_tax_code(value: str) -> bool:
    head, dash, branch = value.partition("-")
    return (len(head) == 10 and head.isascii() and head.isdigit()
            and (not dash or (len(branch) == 3 and branch.isascii() and branch.isdigit())))


class AgencyDirectory:
    """The agencies of one deployment, by code. Immutable once built."""

    def __init__(self, agencies: Iterable[Agency] = ()) -> None:
        by_code: dict[str, Agency] = {}
        for agency in agencies:
            if not isinstance(agency, Agency):
                raise InvalidInput(f"{agency!r} is not a dossier.agencies.Agency")
            if agency.code in by_code:
                raise InvalidInput(f"agency {agency.code} is listed twice")
            by_code[agency.code] = agency
        for agency in by_code.values():
            if agency.parent is not None and agency.parent not in by_code:
                raise InvalidInput(f"agency {agency.code}: parent {agency.parent} is not in "
                                   "the directory")
        self._by_code = by_code
        self._check_no_cycles()

    def _check_no_cycles(self) -> None:
        for agency in self._by_code.values():
            seen = {agency.code}
            parent = agency.parent
            while parent is not None:
                if parent in seen:
                    raise InvalidInput(f"agency {agency.code}: its parents form a cycle")
                seen.add(parent)
                parent = self._by_code[parent].parent

    def get(self, code: str) -> Agency | None:
        return self._by_code.get(code)

    def __getitem__(self, code: str) -> Agency:
        try:
            return self._by_code[code]
        except KeyError:
            raise InvalidInput(f"agency {code!r} is not in the directory") from None

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def __iter__(self) -> Iterator[Agency]:
        return iter(self._by_code.values())

    def __len__(self) -> int:
        return len(self._by_code)

    def name_of(self, code: str) -> str:
        """The name to print for ``code`` (the code itself for an agency not listed)."""
        agency = self._by_code.get(code)
        return agency.display_name if agency else code

    def names(self) -> Mapping[str, str]:
        """Code → printed name, for receipts, stamps and certification statements."""
        return {code: agency.display_name for code, agency in self._by_code.items()}

    def with_descendants(self, code: str) -> frozenset[str]:
        """``code`` and every agency below it."""
        self[code]
        children: dict[str, list[str]] = {}
        for agency in self._by_code.values():
            if agency.parent is not None:
                children.setdefault(agency.parent, []).append(agency.code)
        found, todo = {code}, [code]
        while todo:
            for child in children.get(todo.pop(), ()):
                if child not in found:
                    found.add(child)
                    todo.append(child)
        return frozenset(found)


EMPTY_DIRECTORY = AgencyDirectory()
