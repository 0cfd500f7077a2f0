"""Rules that span fields of a procedure: what the schema alone cannot see."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dossier.procedure.model import (
    DEFAULT_MAX_SUPPLEMENT_REQUESTS,
    DEFAULT_SUPPLEMENT_REQUEST_WITHIN_DAYS,
    ClockPolicy,
    ComponentForm,
    Procedure,
    ServiceLevel,
    TimeUnit,
)
from dossier.states import Step


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One lint result: ``error`` blocks loading, ``warning`` is printed only."""

    level: str  # "error" | "warning"
    path: str
    message: str


def lint(procedure: Procedure) -> list[Finding]:
    """Every cross-field problem of ``procedure``, errors first."""
    errors: list[Finding] = []
    warnings: list[Finding] = []

    def error(path: str, message: str) -> None:
        errors.append(Finding(level="error", path=path, message=message))

    def warn(path: str, message: str) -> None:
        warnings.append(Finding(level="warning", path=path, message=message))

    steps = procedure.steps
    if not steps:
        error("steps", "a procedure needs at least the steps 'receive' and 'return'")
        return errors
    seen: dict[Step, int] = {}
    for index, spec in enumerate(steps):
        if spec.name in seen:
            error(f"steps[{index}].name",
                  f"step {spec.name.value!r} is listed twice (first at steps[{seen[spec.name]}])")
        else:
            seen[spec.name] = index
    if steps[0].name is not Step.RECEIVE:
        error("steps[0].name", f"the first step must be 'receive', not {steps[0].name.value!r}")
    if steps[-1].name is not Step.RETURN:
        error(f"steps[{len(steps) - 1}].name",
              f"the last step must be 'return', not {steps[-1].name.value!r}")

    first_with: dict[str, int] = {}
    for index, component in enumerate(procedure.components):
        if component.id in first_with:
            error(f"components[{index}].id", f"component id {component.id!r} is used twice "
                                             f"(first at components[{first_with[component.id]}])")
        first_with.setdefault(component.id, index)

    fee = procedure.fee
    charges = fee is not None and fee.charges_money
    if procedure.has_step(Step.PAY) and not charges:
        error("fee", "the procedure has a 'pay' step but no fee rule that charges money")
    if not procedure.has_step(Step.PAY) and charges:
        error("fee", "the procedure charges a fee but has no 'pay' step to collect it")

    certifiable = [c.id for c in procedure.components if c.may_certify]
    if procedure.has_step(Step.CERTIFY) and not certifiable:
        error("components", "the procedure has a 'certify' step but no component may_certify")
    if certifiable and not procedure.has_step(Step.CERTIFY):
        warn("components", f"components {certifiable} may_certify but there is no 'certify' step")
    for index, component in enumerate(procedure.components):
        if component.form is ComponentForm.SHOWN and (component.must_digitise
                                                     or component.may_certify):
            error(f"components[{index}].form", f"component {component.id!r} is only shown "
                  "(xuất trình), so it cannot be digitised or certified from a stored file")
    to_digitise = [c.id for c in procedure.components if c.must_digitise]
    if to_digitise and not procedure.has_step(Step.DIGITISE):
        warn("components",
             f"components {to_digitise} must_digitise but there is no 'digitise' step")
    if procedure.has_step(Step.DIGITISE) and not to_digitise:
        warn("components", "the 'digitise' step has no component that must_digitise")

    budgets = [(i, s.budget) for i, s in enumerate(steps) if s.budget is not None]
    if budgets:
        total = procedure.processing_time.working_hours_upper_bound()
        spent = sum(budget.working_hours_upper_bound() for _, budget in budgets)
        if spent > total:
            error("steps", f"step budgets add up to {spent} working hours, more than the "
                           f"processing time allows ({total} working hours)")
        for index, budget in budgets:
            if budget.unit in (TimeUnit.SAME_DAY, TimeUnit.CALENDAR_DAYS):
                warn(f"steps[{index}].budget.unit",
                     f"a step budget in {budget.unit.value} is counted as whole working days")

    time_spec = procedure.processing_time
    if time_spec.unit is TimeUnit.SAME_DAY and time_spec.amount:
        warn("processing_time.amount", "same_day ignores amount; write 0")
    online = procedure.online_processing_time
    if online is not None:
        if online.unit is TimeUnit.SAME_DAY and online.amount:
            warn("online_processing_time.amount", "same_day ignores amount; write 0")
        if online.working_hours_upper_bound() > time_spec.working_hours_upper_bound():
            warn("online_processing_time",
                 "online dossiers get more time than counter ones; is that intended?")
        if procedure.service_level is ServiceLevel.OFFLINE:
            warn("online_processing_time", "the procedure is not offered online")
    offset = procedure.warning_offset.working_hours_upper_bound()
    # (the default offset is silently skipped for short procedures; a stated one is a mistake)
    shortest = min(time_spec.working_hours_upper_bound(),
                   (online or time_spec).working_hours_upper_bound())
    if "warning_offset" in procedure.model_fields_set and offset >= shortest:
        warn("warning_offset", f"the warning ({offset} working hours before due) would fall "
                               "before reception, so no warning is sent")
    _lint_cases(procedure, error, warn)
    _lint_supplement_rules(procedure, warn)
    if procedure.supplement_deadline is not None and procedure.clock_policy is ClockPolicy.NONE:
        warn("supplement_deadline", "with clock_policy 'none' the processing time keeps "
                                    "running while the citizen supplements")
    return errors + warnings


def _lint_cases(procedure: Procedure, error: Callable[[str, str], None],
                warn: Callable[[str, str], None]) -> None:
    first: dict[str, int] = {}
    for index, case in enumerate(procedure.cases):
        if case.id in first:
            error(f"cases[{index}].id",
                  f"case id {case.id!r} is used twice (first at cases[{first[case.id]}])")
        first.setdefault(case.id, index)
        if case.processing_time == procedure.processing_time:
            warn(f"cases[{index}].processing_time",
                 "the same time limit as the procedure's: the case changes nothing")
        if not case.legal_basis:
            warn(f"cases[{index}].legal_basis", "say which article gives this case its time")
        spent = sum(s.budget.working_hours_upper_bound() for s in procedure.steps if s.budget)
        if spent > case.processing_time.working_hours_upper_bound():
            warn(f"cases[{index}].processing_time",
                 f"step budgets add up to {spent} working hours, more than case "
                 f"{case.id!r} allows: its steps will fall due after the dossier")


def _lint_supplement_rules(procedure: Procedure, warn: Callable[[str, str], None]) -> None:
    """Overriding a one-stop-shop default is allowed (a procedure's own law may differ), but
    worth a second look: the warning names the default and where it comes from."""
    if procedure.max_supplement_requests != DEFAULT_MAX_SUPPLEMENT_REQUESTS:
        warn("max_supplement_requests",
             f"{procedure.max_supplement_requests} supplement requests instead of the one-stop-"
             f"shop rule's {DEFAULT_MAX_SUPPLEMENT_REQUESTS} (hướng dẫn một lần): cite the law "
             "that allows it in legal_basis")
    if procedure.supplement_request_within_days != DEFAULT_SUPPLEMENT_REQUEST_WITHIN_DAYS:
        warn("supplement_request_within_days",
             f"supplement requests limited to {procedure.supplement_request_within_days} working "
             "days after reception; the one-stop-shop rules set no general limit: cite the "
             "law that does in legal_basis")
