"""The lifecycle of one procedure version as a `transitions` machine used as a rule book.

One :class:`RuleBook` per procedure version, built once and cached by the engine. It is never
bound to dossiers: the engine looks up the transitions for ``(state, trigger)`` and evaluates
their named conditions against the dossier (a machine per dossier costs ~0.5 ms to build, and
``add_model`` kept across calls grows O(n²)).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from transitions import Machine

from dossier.errors import GuardFailed, TransitionNotAllowed
from dossier.guards import (
    GUARD_HINTS,
    GUARDS,
    ROUTING_PREFIX,
    SUPPLEMENT_REQUEST_GUARDS,
    GuardContext,
    step_guards,
)
from dossier.procedure.model import Procedure
from dossier.states import (
    FINAL_STATES,
    RESUMABLE_STATES,
    SIDE_EXITS,
    SYSTEM_COMPLETABLE_STEPS,
    Role,
    State,
    Trigger,
)


@dataclass(frozen=True, kw_only=True)
class Rule:
    """One allowed move: from ``source`` by ``trigger`` to ``target`` if ``guards`` pass."""

    trigger: Trigger
    source: State
    target: State
    guards: tuple[str, ...]
    roles: frozenset[Role]
    is_step: bool


def build_rules(procedure: Procedure) -> list[Rule]:
    """Every rule of the procedure: its steps in order, then the side exits."""
    rules: list[Rule] = []
    specs = procedure.steps
    step_states = [spec.state for spec in specs]
    for index, spec in enumerate(specs):
        target = step_states[index + 1] if index + 1 < len(specs) else State.RETURNED
        roles = {spec.role}
        if spec.name in SYSTEM_COMPLETABLE_STEPS:
            roles.add(Role.SYSTEM)
        rules.append(Rule(trigger=Trigger(spec.trigger), source=spec.state, target=target,
                          guards=step_guards(procedure, spec.name),
                          roles=frozenset(roles), is_step=True))

    live = set(step_states) | {State.AWAITING_SUPPLEMENT}
    before_return = [s for s in step_states if s is not State.AWAITING_RETURN]
    for side in SIDE_EXITS:
        sources: tuple[State, ...]
        if side.trigger is Trigger.WITHDRAW:
            sources = (*before_return, State.AWAITING_SUPPLEMENT)
        elif side.trigger is Trigger.STOP:
            sources = (*step_states[1:], State.AWAITING_SUPPLEMENT)
        else:
            sources = side.sources or ()
        for source in sources:
            if source not in live:
                continue
            targets: list[tuple[State, tuple[str, ...]]]
            if side.target is None:  # supplement: back where the request came from
                targets = [(s, (f"{ROUTING_PREFIX}{s.value}",)) for s in RESUMABLE_STATES
                           if s in live]
            else:
                guards: tuple[str, ...] = ()
                if side.trigger is Trigger.STOP and source is State.AWAITING_SUPPLEMENT:
                    guards = ("received",)
                elif side.trigger is Trigger.REQUEST_SUPPLEMENT:
                    guards = SUPPLEMENT_REQUEST_GUARDS
                targets = [(side.target, guards)]
            for target, guard_names in targets:
                rules.append(Rule(trigger=side.trigger, source=source, target=target,
                                  guards=guard_names, roles=frozenset(side.roles),
                                  is_step=False))
    return rules


class RuleBook:
    """The compiled lifecycle of one procedure version."""

    def __init__(self, procedure: Procedure) -> None:
        self.procedure = procedure
        self.rules = build_rules(procedure)
        states = [s.value for s in State]
        self.machine = Machine(
            model=None, states=states, initial=State.AWAITING_RECEPTION.value,
            auto_transitions=False, send_event=True,
            transitions=[{"trigger": r.trigger.value, "source": r.source.value,
                          "dest": r.target.value, "conditions": list(r.guards)}
                         for r in self.rules])
        # (source, trigger) → candidate rules in declaration order; the machine's own
        # per-event transition lists are the source of truth for what is allowed.
        by_move: dict[tuple[str, str], list[Rule]] = {}
        rule_of = {(r.source.value, r.trigger.value, r.target.value, r.guards): r
                   for r in self.rules}
        for name, event in self.machine.events.items():
            for source, transitions in event.transitions.items():
                by_move[(source, name)] = [
                    rule_of[(source, name, str(t.dest), tuple(str(c.func) for c in t.conditions))]
                    for t in transitions]
        self._moves = by_move
        self.triggers = frozenset(self.machine.events)

    def candidates(self, state: State, trigger: str) -> list[Rule]:
        """The rules for ``trigger`` from ``state``; raises if there are none."""
        found = self._moves.get((state.value, trigger))
        if not found:
            if trigger not in self.triggers:
                raise TransitionNotAllowed(
                    f"trigger {trigger!r} is not part of procedure {self.procedure.code} "
                    f"v{self.procedure.version} (its triggers: {', '.join(sorted(self.triggers))})")
            allowed = sorted(t for (s, t) in self._moves if s == state.value)
            raise TransitionNotAllowed(
                f"trigger {trigger!r} is not allowed in state {state.value!r}"
                + (f"; allowed now: {', '.join(allowed)}" if allowed else "; the state is final"
                   if state in FINAL_STATES else ""))
        return found

    def allowed_roles(self, state: State, trigger: str) -> frozenset[Role]:
        roles: frozenset[Role] = frozenset()
        for rule in self.candidates(state, trigger):
            roles |= rule.roles
        return roles

    def resolve(self, code: str, rules: list[Rule], ctx: GuardContext,
                pending: Collection[str] = ()) -> Rule:
        """The first rule whose guards all pass; :class:`GuardFailed` for the first real guard
        that fails (routing guards only choose between targets). Guards named in ``pending``
        are not checked: the caller is about to satisfy them and will check again."""
        failure: GuardFailed | None = None
        for rule in rules:
            for name in rule.guards:
                if name in pending:
                    continue
                missing = GUARDS[name](ctx)
                if missing:
                    if failure is None and not name.startswith(ROUTING_PREFIX):
                        failure = GuardFailed(code, name, missing, GUARD_HINTS.get(name, ""))
                    break
            else:
                return rule
        if failure is not None:
            raise failure
        raise TransitionNotAllowed(f"{code}: no rule of {rules[0].trigger.value!r} applies "
                                   f"from {rules[0].source.value!r}")

    def mermaid(self) -> str:
        """The lifecycle as a Mermaid ``stateDiagram-v2``."""
        lines = ["stateDiagram-v2", f"    [*] --> {State.AWAITING_RECEPTION.value}: submit"]
        seen: set[State] = set()
        for rule in self.rules:
            label = rule.trigger.value
            if rule.guards:
                label += " [" + ", ".join(rule.guards) + "]"
            label += " (" + ", ".join(sorted(r.value for r in rule.roles)) + ")"
            lines.append(f"    {rule.source.value} --> {rule.target.value}: {label}")
            seen.add(rule.target)
        for state in State:
            if state in FINAL_STATES and state in seen:
                lines.append(f"    {state.value} --> [*]")
        return "\n".join(lines) + "\n"
