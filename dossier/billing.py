"""Moved to :mod:`dossier.payments.service`; kept so old imports work."""

from dossier.payments.service import *  # noqa: F403
from dossier.payments.service import __all__  # noqa: F401
