"""Procedures as data: the model, TOML loading and lint."""

from dossier.procedure.lint import Finding, lint
from dossier.procedure.loader import load_procedure, parse_procedure, read_procedure
from dossier.procedure.model import (
    AgencyLevel,
    ClockPolicy,
    Component,
    ComponentForm,
    Duration,
    FeeKind,
    FeeRule,
    FeeTier,
    Medium,
    Procedure,
    ServiceLevel,
    SpecialCase,
    StepSpec,
    TimeUnit,
)

__all__ = [
    "AgencyLevel",
    "ClockPolicy",
    "Component",
    "ComponentForm",
    "Duration",
    "FeeKind",
    "FeeRule",
    "FeeTier",
    "Finding",
    "Medium",
    "Procedure",
    "ServiceLevel",
    "SpecialCase",
    "StepSpec",
    "TimeUnit",
    "lint",
    "load_procedure",
    "parse_procedure",
    "read_procedure",
]
