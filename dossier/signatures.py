"""Moved to :mod:`dossier.signing.service`; kept so old imports work."""

from dossier.signing.service import *  # noqa: F403
from dossier.signing.service import SigningService as Signatures  # noqa: F401
from dossier.signing.service import __all__  # noqa: F401
