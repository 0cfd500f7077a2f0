"""Which one-stop-shop forms exist, under which circular, by the day a form is issued.

Two sets, chosen by the Vietnam date a form is issued (never by the dossier's age):

- **Thông tư 01/2018/TT-VPCP** (guiding Nghị định 61/2018/NĐ-CP), used until 14/9/2025.
  Its forms: 01 Giấy tiếp nhận hồ sơ và hẹn trả kết quả; 02 Phiếu yêu cầu bổ sung, hoàn
  thiện hồ sơ; 03 Phiếu từ chối tiếp nhận giải quyết hồ sơ; 04 Phiếu xin lỗi và hẹn lại ngày
  trả kết quả; 05 Phiếu kiểm soát quá trình giải quyết hồ sơ; 06 Sổ theo dõi hồ sơ. It has
  no notice for a stopped dossier: a ``stop`` before 15/9/2025 issues no form (its event
  keeps the reason).
- **Thông tư 03/2025/TT-VPCP** of 15/9/2025 (guiding Nghị định 118/2025/NĐ-CP), Phụ lục I,
  from 15/9/2025: 01 Giấy tiếp nhận hồ sơ và hẹn trả kết quả; 02 Phiếu yêu cầu bổ sung, hoàn
  thiện hồ sơ; 03 Phiếu từ chối tiếp nhận, giải quyết hồ sơ; 04 Văn bản xin lỗi và đề nghị gia
  hạn thời gian giải quyết; 05 Thông báo dừng giải quyết hồ sơ; 06 Phiếu kiểm soát quá trình
  giải quyết hồ sơ; 07 Sổ theo dõi hồ sơ.

A form's kind is ``form-NN`` with the number *in the circular that applied*: the control sheet
is ``form-05`` under 01/2018 and ``form-06`` under 03/2025. Titles and lists are confirmed
from the sources named in ``LEGAL-SOURCES``; the wording inside each template follows the
closest form whose text could be read (each template's header comment says which). Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from dossier.errors import InvalidInput
from dossier.states import Trigger


class Circular(StrEnum):
    """A circular that sets the forms; the value is its number as printed."""

    TT01_2018 = "01/2018/TT-VPCP"
    TT03_2025 = "03/2025/TT-VPCP"

    @property
    def folder(self) -> str:
        """Where its templates live, under ``templates/forms/``."""
        return "tt01-2018" if self is Circular.TT01_2018 else "tt03-2025"


#: The first day Thông tư 03/2025/TT-VPCP's forms are used (its date of issue and effect).
TT03_2025_FROM = date(2025, 9, 15)


class Use(StrEnum):
    """What a form is for, whatever its number in a circular."""

    RECEPTION = "reception"        # giấy tiếp nhận hồ sơ và hẹn trả kết quả
    SUPPLEMENT = "supplement"      # phiếu yêu cầu bổ sung, hoàn thiện hồ sơ
    REFUSAL = "refusal"            # phiếu từ chối tiếp nhận, giải quyết hồ sơ
    APOLOGY = "apology"            # xin lỗi và hẹn lại / đề nghị gia hạn
    STOP = "stop"                  # thông báo dừng giải quyết hồ sơ
    CONTROL_SHEET = "control"      # phiếu kiểm soát quá trình giải quyết hồ sơ
    TRACKING_BOOK = "book"         # sổ theo dõi hồ sơ


def symbol_problem(use: object, symbol: object) -> str | None:
    """Why ``symbol`` cannot follow the numbers of the forms for ``use`` (None if it can):
    the agency's own ký hiệu, 1-16 printable ASCII characters (``05/GTN``). No circular fixes
    the symbols; they are settings."""
    if use not in {u.value for u in Use}:
        return (f"{use!r} is not a form use (" + ", ".join(u.value for u in Use) + ")")
    if not isinstance(symbol, str) or not 0 < len(symbol) <= 16 \
            or not all(" " < c <= "~" for c in symbol):
        return f"the symbol for {use} must be 1-16 printable ASCII characters, no spaces"
    return None


@dataclass(frozen=True, kw_only=True)
class FormSpec:
    """One form of one circular."""

    circular: Circular
    number: int
    use: Use
    title: str

    @property
    def kind(self) -> str:
        """``form-01`` …: the kind its stored document has."""
        return f"form-{self.number:02d}"

    @property
    def template(self) -> str:
        """Its template, relative to ``templates/``."""
        return f"forms/{self.circular.folder}/mau-{self.number:02d}.html.j2"

    @property
    def landscape(self) -> bool:
        """The tracking book is a wide table: A4 landscape; the others A4 portrait."""
        return self.use is Use.TRACKING_BOOK


def _forms(circular: Circular, *entries: tuple[Use, str]) -> dict[Use, FormSpec]:
    return {use: FormSpec(circular=circular, number=i, use=use, title=title)
            for i, (use, title) in enumerate(entries, start=1)}


FORMS: dict[Circular, dict[Use, FormSpec]] = {
    Circular.TT01_2018: _forms(
        Circular.TT01_2018,
        (Use.RECEPTION, "Giấy tiếp nhận hồ sơ và hẹn trả kết quả"),
        (Use.SUPPLEMENT, "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ"),
        (Use.REFUSAL, "Phiếu từ chối tiếp nhận giải quyết hồ sơ"),
        (Use.APOLOGY, "Phiếu xin lỗi và hẹn lại ngày trả kết quả"),
        (Use.CONTROL_SHEET, "Phiếu kiểm soát quá trình giải quyết hồ sơ"),
        (Use.TRACKING_BOOK, "Sổ theo dõi hồ sơ")),
    Circular.TT03_2025: _forms(
        Circular.TT03_2025,
        (Use.RECEPTION, "Giấy tiếp nhận hồ sơ và hẹn trả kết quả"),
        (Use.SUPPLEMENT, "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ"),
        (Use.REFUSAL, "Phiếu từ chối tiếp nhận, giải quyết hồ sơ"),
        (Use.APOLOGY, "Văn bản xin lỗi và đề nghị gia hạn thời gian giải quyết"),
        (Use.STOP, "Thông báo dừng giải quyết hồ sơ"),
        (Use.CONTROL_SHEET, "Phiếu kiểm soát quá trình giải quyết hồ sơ"),
        (Use.TRACKING_BOOK, "Sổ theo dõi hồ sơ")),
}

#: The trigger whose event issues each form (06/07 are made on demand).
ISSUED_AT: dict[Trigger, Use] = {
    Trigger.RECEIVE: Use.RECEPTION,
    Trigger.REQUEST_SUPPLEMENT: Use.SUPPLEMENT,
    Trigger.REFUSE: Use.REFUSAL,
    Trigger.EXTEND: Use.APOLOGY,
    Trigger.STOP: Use.STOP,
}

#: Every kind a stored form may have.
FORM_KINDS = tuple(f"form-{n:02d}" for n in range(1, 8))


def circular_for(day: date) -> Circular:
    """The circular whose forms are issued on ``day`` (a Vietnam date)."""
    return Circular.TT03_2025 if day >= TT03_2025_FROM else Circular.TT01_2018


def form_for(use: Use, day: date) -> FormSpec | None:
    """The form for ``use`` issued on ``day``; None where that circular has none."""
    return FORMS[circular_for(day)].get(use)


def spec_of(kind: str, circular: Circular) -> FormSpec:
    """The form ``kind`` (``form-06``) names in ``circular``; InvalidInput if none."""
    for spec in FORMS[circular].values():
        if spec.kind == kind:
            return spec
    kinds = ", ".join(spec.kind for spec in FORMS[circular].values())
    raise InvalidInput(f"{kind!r} is not a form of Thông tư {circular.value} ({kinds})")
