"""Running a remote signer's async work from the synchronous port, with one error mapping.

pyHanko's CSC client and our phone-confirm client are async on aiohttp; the ``Signer`` port is
synchronous. :func:`run_remote` runs the work with
:func:`~dossier.signing.blocking.run_blocking` (on the calling thread, or on a private thread
when that thread already runs an event loop, so it is safe inside ASGI apps) and turns
transport and protocol failures into :class:`~dossier.errors.RemoteSigningError` with a
message that says what to do.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

import aiohttp
from pyhanko.sign.general import SigningError as PyHankoSigningError

from dossier.errors import RemoteSigningError, SigningError
from dossier.signing.blocking import run_blocking

T = TypeVar("T")


def run_remote(work: Awaitable[T], *, service: str, timeout: float, unusable_hint: str) -> T:
    """Await ``work``; ``service`` names the service in messages ("CSC service https://…")."""
    async def guarded() -> T:
        return await work
    try:
        return run_blocking(guarded())
    except SigningError:
        raise
    except TimeoutError as exc:
        raise RemoteSigningError(
            f"{service} did not answer within {timeout:g} s; the dossier stays awaiting "
            "signature, try again later") from exc
    except (aiohttp.ClientError, OSError) as exc:
        raise RemoteSigningError(
            f"{service} cannot be reached ({exc}); check the URL and the network, then try "
            "again") from exc
    except (PyHankoSigningError, KeyError, IndexError, ValueError, TypeError) as exc:
        cause = exc.__cause__ or exc
        raise RemoteSigningError(
            f"{service} answered something unusable ({type(exc).__name__}: {exc}"
            + (f"; {cause}" if cause is not exc else "") + f"); {unusable_hint}") from exc
