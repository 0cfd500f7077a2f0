"""Moved to :mod:`dossier.policy` (the one module that owns who may do what)."""

from dossier.policy import (  # noqa: F401
    check_actor,
    check_applicant,
    check_party,
    on_behalf_of_for,
    submitting_agency,
)
