"""The procedure (thủ tục hành chính) as validated data.

One TOML file is one *version* of one procedure. The models here check the shape of each
field; :mod:`dossier.procedure.lint` checks the rules that span fields.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from datetime import date, time
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_serializer,
    field_validator,
    model_validator,
)

from dossier import text
from dossier.states import DEFAULT_STEP_ROLES, Role, State, Step, state_of, trigger_of
from dossier.text import Kind

_CODE = re.compile(r"^\d\.\d{6}$")
_SLUG = re.compile(r"^[a-z][a-z0-9_]*$")

# Bounds on every number of a procedure file: far beyond any real procedure, small enough
# that nothing that validates can overflow a date, a BIGINT or a working-day table later.
#: Days (working or calendar) of a time limit: ten years; the longest real limits are months.
MAX_DAYS = 3650
#: Working hours of a time limit: the same ten years at eight hours a day.
MAX_HOURS = MAX_DAYS * 8
#: Any price in VND: a trillion; real fees are thousands to millions, BIGINT holds 9.2e18.
MAX_FEE = 10**12
#: Page numbers of a fee tier: no document submitted at a counter has 100,000 pages.
MAX_PAGE = 100_000
#: Copies (extra_copy_from) and a component's quantity: no request asks for more.
MAX_COPIES = 10_000
#: Tiers of a per-page fee: real schedules have two or three.
MAX_TIERS = 100
#: Special cases of one procedure: real procedures list a handful.
MAX_CASES = 50

# --- one-stop-shop defaults (the procedure may state its own, and the lint says so) --------
#: How many supplement requests (yêu cầu bổ sung, hoàn thiện hồ sơ) a dossier may get: the
#: one-time written guidance (hướng dẫn một lần) of the one-stop-shop rules, as Nghị định
#: 61/2018/NĐ-CP put it and as published procedure texts still word it in 2025 (e.g. Bình
#: Định's "hướng dẫn một lần bằng văn bản"). The article of Nghị định 118/2025/NĐ-CP that
#: carries it was not read: confirm it, and state ``max_supplement_requests`` where a
#: procedure's own law allows another round.
DEFAULT_MAX_SUPPLEMENT_REQUESTS = 1
#: Working days after reception within which a supplement request may be made. The
#: one-stop-shop decree sets no general figure that we could confirm, so by default there is
#: none; procedure-specific laws often set one (``supplement_request_within_days``).
DEFAULT_SUPPLEMENT_REQUEST_WITHIN_DAYS: int | None = None



class TimeUnit(StrEnum):
    """How a processing time or step budget is counted."""

    WORKING_DAYS = "working_days"
    WORKING_HOURS = "working_hours"
    CALENDAR_DAYS = "calendar_days"
    SAME_DAY = "same_day"


class ClockPolicy(StrEnum):
    """What a supplement request (yêu cầu bổ sung) after reception does to the time limit."""

    RESTART = "restart"  # the full time starts again when the complete dossier comes back
    PAUSE = "pause"      # the due date moves by the working time spent waiting
    NONE = "none"        # the clock keeps running


class Medium(StrEnum):
    """How a result is signed (``signing``) or a copy certified (``certification``)."""

    DIGITAL = "digital"  # ký số: the engine holds the signed PDF (sign_result, certify_copy)
    PAPER = "paper"      # ký tay / đóng dấu: the event records that it was done on paper


class AgencyLevel(StrEnum):
    PROVINCE = "province"
    DISTRICT = "district"  # historic: districts were abolished on 1 July 2025
    COMMUNE = "commune"


class ServiceLevel(StrEnum):
    FULL_ONLINE = "full_online"        # dịch vụ công trực tuyến toàn trình
    PARTIAL_ONLINE = "partial_online"  # dịch vụ công trực tuyến một phần
    OFFLINE = "offline"


class ComponentForm(StrEnum):
    ORIGINAL = "original"  # bản chính
    COPY = "copy"          # bản sao
    SHOWN = "shown"        # xuất trình: shown at the counter and checked, never kept


class FeeKind(StrEnum):
    EXEMPT = "exempt"
    FLAT = "flat"
    PER_PAGE = "per_page"
    PER_COPY = "per_copy"


def _text_rule(kind: Kind) -> AfterValidator:
    """The string rule of :mod:`dossier.text` as a pydantic validator (stored in NFC)."""
    def check(value: str) -> str:
        wrong = text.problem(value, kind)
        if wrong is not None:
            raise ValueError(wrong)
        return unicodedata.normalize("NFC", value)
    return AfterValidator(check)


#: One-line names (procedure, field, fee, component); stored in the canonical JSON.
Label = Annotated[str, _text_rule(Kind.LABEL)]
#: Free text (legal bases, reasons): line breaks allowed.
FreeText = Annotated[str, _text_rule(Kind.FREE_TEXT)]
Fee = Annotated[int, Field(ge=0, le=MAX_FEE)]
Page = Annotated[int, Field(ge=1, le=MAX_PAGE)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _parse_hhmm(value: Any) -> Any:
    if isinstance(value, str):
        # HH:MM in files; HH:MM:SS is what canonical JSON of an older definition may hold
        match = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)(?::00)?", value)
        if not match:
            raise ValueError(f"expected a time as 'HH:MM', got {value!r}")
        return time(int(match[1]), int(match[2]))
    return value


class Duration(_Strict):
    """An amount of time in a unit the calendar understands."""

    amount: Annotated[int, Field(ge=0, le=MAX_HOURS)]
    unit: TimeUnit
    cutoff: time | None = None  # a start after the cut-off counts from the next working day

    _cutoff = field_validator("cutoff", mode="before")(_parse_hhmm)

    @field_serializer("cutoff")
    def _cutoff_hhmm(self, value: time | None) -> str | None:
        return None if value is None else value.strftime("%H:%M")

    @model_validator(mode="after")
    def _amount_fits_unit(self) -> Duration:
        if self.unit is not TimeUnit.SAME_DAY and self.amount == 0:
            raise ValueError(f"amount must be positive for unit {self.unit.value!r}")
        if self.unit in (TimeUnit.WORKING_DAYS, TimeUnit.CALENDAR_DAYS) \
                and self.amount > MAX_DAYS:
            raise ValueError(f"amount must be at most {MAX_DAYS} {self.unit.value} "
                             "(ten years)")
        return self

    def working_hours_upper_bound(self, hours_per_day: int = 8) -> int:
        """Working hours this duration can hold at most (for lint only).

        A calendar day holds at most one working day; ``same_day`` holds one working day.
        """
        if self.unit is TimeUnit.WORKING_HOURS:
            return self.amount
        if self.unit is TimeUnit.SAME_DAY:
            return hours_per_day
        return self.amount * hours_per_day


class FeeTier(_Strict):
    """Pages ``from_page``..``to_page`` (inclusive; open-ended when absent) cost ``per_page``."""

    from_page: Page
    to_page: Page | None = None
    per_page: Fee


class FeeRule(_Strict):
    """A fee (phí) or charge (lệ phí) as data; amounts are integer VND.

    - ``exempt``: nothing to pay (state the reason).
    - ``flat``: ``amount`` per dossier; optionally ``extra_copy_amount`` for each copy from
      ``extra_copy_from`` on (e.g. lý lịch tư pháp: 5,000 đ per certificate from the 3rd).
    - ``per_page``: ``tiers`` of per-page prices, ``cap_per_copy`` at most per copy, times copies.
    - ``per_copy``: ``amount`` per copy.
    """

    kind: FeeKind
    name: Label = ""
    legal_basis: FreeText = ""
    reason: FreeText = ""
    amount: Fee = 0
    extra_copy_from: Annotated[int, Field(ge=2, le=MAX_COPIES)] | None = None
    extra_copy_amount: Fee = 0
    tiers: Annotated[tuple[FeeTier, ...], Field(max_length=MAX_TIERS)] = ()
    cap_per_copy: Annotated[int, Field(ge=1, le=MAX_FEE)] | None = None

    @model_validator(mode="after")
    def _fields_fit_kind(self) -> FeeRule:
        kind = self.kind
        if kind is FeeKind.PER_PAGE:
            if not self.tiers:
                raise ValueError("a per_page fee needs at least one tier")
            expected = 1
            for index, tier in enumerate(self.tiers):
                if tier.from_page != expected:
                    raise ValueError(
                        f"tiers[{index}].from_page is {tier.from_page}, expected {expected}: "
                        "tiers must start at page 1 and follow each other without gaps")
                if tier.to_page is None:
                    if index != len(self.tiers) - 1:
                        raise ValueError(f"tiers[{index}] is open-ended but is not the last")
                    break
                if tier.to_page < tier.from_page:
                    raise ValueError(f"tiers[{index}].to_page is before its from_page")
                expected = tier.to_page + 1
            else:
                raise ValueError("the last tier must be open-ended (no to_page)")
        elif self.tiers or self.cap_per_copy is not None:
            raise ValueError(f"tiers and cap_per_copy belong to per_page fees, not {kind.value}")
        if kind is not FeeKind.FLAT and (self.extra_copy_from or self.extra_copy_amount):
            raise ValueError("extra_copy_from/extra_copy_amount belong to flat fees")
        if (self.extra_copy_from is None) != (self.extra_copy_amount == 0):
            raise ValueError("give both extra_copy_from and extra_copy_amount, or neither")
        if kind in (FeeKind.EXEMPT, FeeKind.PER_PAGE) and self.amount:
            raise ValueError(f"amount does not apply to {kind.value} fees")
        return self

    @property
    def charges_money(self) -> bool:
        """False for exempt rules and rules whose every price is zero."""
        if self.kind is FeeKind.EXEMPT:
            return False
        if self.kind is FeeKind.PER_PAGE:
            return any(tier.per_page > 0 for tier in self.tiers)
        return self.amount > 0 or self.extra_copy_amount > 0


class SpecialCase(_Strict):
    """A case of the procedure with its own time limit, declared when the dossier is
    submitted (``Engine.submit(..., case=ID)``) and kept by it for life.

    E.g. Luật Lý lịch tư pháp, Điều 48: 10 working days, 15 for a Vietnamese citizen who lived
    in several places or abroad, or a foreigner. The case's ``processing_time`` replaces the
    procedure's for every channel; ``legal_basis`` says where it comes from.
    """

    id: Annotated[str, _text_rule(Kind.COMPONENT)]
    name: Label
    processing_time: Duration
    legal_basis: FreeText = ""

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _SLUG.match(value):
            raise ValueError(f"case id {value!r} must be lower-case letters, digits and _")
        return value


def slug(text: str) -> str:
    """An ASCII id from Vietnamese text: ``"Bản chính giấy tờ"`` → ``"ban_chinh_giay_to"``."""
    plain = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    ascii_text = plain.encode("ascii", "ignore").decode().lower()
    words = re.findall(r"[a-z0-9]+", ascii_text)
    joined = "_".join(words)[:64].rstrip("_")
    return joined if joined[:1].isalpha() else f"c_{joined}"


class Component(_Strict):
    """A dossier component (thành phần hồ sơ).

    ``id`` is what :meth:`Engine.attach` names; when a file leaves it out it is derived from
    ``name`` (ASCII, lower case, words joined by ``_``).
    """

    id: Annotated[str, _text_rule(Kind.COMPONENT)]
    name: Label
    form: ComponentForm = ComponentForm.COPY
    quantity: Annotated[int, Field(ge=1, le=MAX_COPIES)] = 1
    required: bool = True
    must_digitise: bool = False
    may_certify: bool = False

    @model_validator(mode="before")
    @classmethod
    def _id_from_name(cls, data: Any) -> Any:
        if isinstance(data, dict) and "id" not in data and isinstance(data.get("name"), str):
            return {**data, "id": slug(data["name"])}
        return data

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _SLUG.match(value):
            raise ValueError(f"component id {value!r} must be lower-case letters, digits and _")
        return value


def _known(enum: type[StrEnum], what: str) -> Any:
    def check(value: Any) -> Any:
        if isinstance(value, str) and value not in enum.__members__.values():
            choices = ", ".join(member.value for member in enum)
            raise ValueError(f"unknown {what} {value!r} (expected one of: {choices})")
        return value
    return check


def _step_shorthand(name: str) -> dict[str, str]:
    known = name in Step.__members__.values()
    # an unknown name keeps a role so that the only error reported is the unknown step
    role = DEFAULT_STEP_ROLES[Step(name)] if known else Role.CLERK
    return {"name": name, "role": role.value}


class StepSpec(_Strict):
    """One step the procedure uses, who completes it, and its optional time budget."""

    name: Step
    role: Role
    budget: Duration | None = None

    _name = field_validator("name", mode="before")(_known(Step, "step"))
    _role = field_validator("role", mode="before")(_known(Role, "role"))

    @property
    def state(self) -> State:
        return state_of(self.name)

    @property
    def trigger(self) -> str:
        return trigger_of(self.name).value


class Procedure(_Strict):
    """One version of an administrative procedure."""

    code: Annotated[str, _text_rule(Kind.PROCEDURE_CODE)]
    name: Label
    field: Label
    agency_level: AgencyLevel
    service_level: ServiceLevel
    version: Annotated[str, _text_rule(Kind.PROCEDURE_VERSION)]
    effective_from: date
    effective_until: date | None = None  # last day in force, inclusive
    legal_basis: tuple[FreeText, ...] = ()
    processing_time: Duration
    # a different time limit for dossiers submitted online (Nghị định 45/2020), if any
    online_processing_time: Duration | None = None
    # Nghị định 61/2018 (and 118/2025): the time counts again from a complete dossier
    clock_policy: ClockPolicy = ClockPolicy.RESTART
    supplement_deadline: Duration | None = None  # then the dossier is refused (hết hạn bổ sung)
    # supplement requests: how many, and within how many working days of reception; the
    # defaults and their sources are DEFAULT_MAX_SUPPLEMENT_REQUESTS and
    # DEFAULT_SUPPLEMENT_REQUEST_WITHIN_DAYS; the lint warns when a procedure states others
    max_supplement_requests: Annotated[int, Field(ge=1, le=MAX_COPIES)] = \
        DEFAULT_MAX_SUPPLEMENT_REQUESTS
    supplement_request_within_days: Annotated[int, Field(ge=1, le=MAX_DAYS)] | None = \
        DEFAULT_SUPPLEMENT_REQUEST_WITHIN_DAYS
    # the apology letter (văn bản xin lỗi và đề nghị gia hạn) is issued before the due date;
    # how long before is an agency setting (working hours or days; none: any time before)
    apology_before: Duration | None = None
    warning_offset: Duration = Duration(amount=1, unit=TimeUnit.WORKING_DAYS)
    fee: FeeRule | None = None
    # digital: ``sign`` needs the signed result stored by Engine.sign_result, ``certify``
    # the certified copies made by Engine.certify_copy; paper: the step records a paper act
    signing: Medium = Medium.DIGITAL
    certification: Medium = Medium.DIGITAL
    components: tuple[Component, ...] = ()
    # cases with their own time limit, chosen at submission (see SpecialCase)
    cases: Annotated[tuple[SpecialCase, ...], Field(max_length=MAX_CASES)] = ()
    steps: tuple[StepSpec, ...]

    @field_validator("steps", mode="before")
    @classmethod
    def _step_names(cls, value: Any) -> Any:
        # ``steps = ["receive", "process", …]`` is shorthand for each step with its
        # default role (dossier.states.DEFAULT_STEP_ROLES) and no budget
        if isinstance(value, list | tuple):
            return [_step_shorthand(item) if isinstance(item, str) else item for item in value]
        return value

    @field_validator("code")
    @classmethod
    def _national_code(cls, value: str) -> str:
        if not _CODE.match(value):
            raise ValueError(f"national procedure code {value!r} must look like '2.000815'")
        return value

    @field_validator("version", "name", "field")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value:
            raise ValueError("must not be empty")
        return value

    @field_validator("legal_basis", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    @field_validator("effective_until")
    @classmethod
    def _dates_in_order(cls, value: date | None, info: ValidationInfo) -> date | None:
        # a field validator (not a model one) so the error names the field: effective_until
        start = info.data.get("effective_from")
        if value is not None and start is not None and value < start:
            raise ValueError(f"{value.isoformat()} is before effective_from "
                             f"({start.isoformat()}); it is the last day in force, inclusive")
        return value

    @field_validator("warning_offset", "apology_before")
    @classmethod
    def _counted_back_in_office_time(cls, value: Duration | None,
                                     info: ValidationInfo) -> Duration | None:
        if value is not None and value.unit not in (TimeUnit.WORKING_HOURS,
                                                    TimeUnit.WORKING_DAYS):
            what = "a warning offset" if info.field_name == "warning_offset" \
                else "the apology letter's lead time"
            raise ValueError(f"{what} is counted back in working_hours or working_days")
        return value

    def processing_time_for(self, channel: str, case: str | None = None) -> Duration:
        """The time limit for a dossier that came in through ``channel``, in special
        ``case`` (a :class:`SpecialCase` id) if it declared one."""
        if case is not None:
            special = self.special_case(case)
            if special is not None:
                return special.processing_time
        if channel == "online" and self.online_processing_time is not None:
            return self.online_processing_time
        return self.processing_time

    def special_case(self, case_id: str) -> SpecialCase | None:
        """The :class:`SpecialCase` with id ``case_id``, if the procedure has it."""
        return next((case for case in self.cases if case.id == case_id), None)

    def in_force_on(self, day: date) -> bool:
        """Whether this version applies to a dossier submitted on local date ``day``."""
        return self.effective_from <= day and (
            self.effective_until is None or day <= self.effective_until)

    def has_step(self, step: Step) -> bool:
        return any(spec.name is step for spec in self.steps)

    def step_index(self, step: Step) -> int:
        """Position of ``step`` in the procedure; ``-1`` when it does not use it."""
        for index, spec in enumerate(self.steps):
            if spec.name is step:
                return index
        return -1

    def component(self, component_id: str) -> Component | None:
        for component in self.components:
            if component.id == component_id:
                return component
        return None

    @property
    def key(self) -> tuple[str, str]:
        """``(code, version)``: what a dossier stores to keep its rules for life."""
        return (self.code, self.version)

    def canonical_json(self) -> str:
        """The definition as canonical JSON: what the database stores and hashes."""
        return json.dumps(self.model_dump(mode="json"), ensure_ascii=False, sort_keys=True,
                          separators=(",", ":"))

    @cached_property
    def content_hash(self) -> str:
        """SHA-256 of :meth:`canonical_json`."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()

    @classmethod
    def from_json(cls, text: str) -> Procedure:
        return cls.model_validate_json(text)


ChannelName = Literal["counter", "online", "post"]
