"""Running pyHanko's coroutines behind the blocking :class:`~dossier.signing.base.Signer` port.

pyHanko and aiohttp are async; ``Signer.sign`` and ``Signer.poll`` are blocking calls. A plain
``asyncio.run`` inside them fails with ``RuntimeError: asyncio.run() cannot be called from a
running event loop`` whenever the caller's thread already runs a loop (any ASGI app, an async
worker, a notebook). :func:`run_blocking` therefore runs the coroutine

* with ``asyncio.run`` on the calling thread when no loop runs there (the common case, no
  extra thread), and
* otherwise with ``asyncio.run`` on a private thread made for this one call, while the caller
  waits; exceptions and the return value come back unchanged, and the caller's context
  variables are copied over.

A thread per call rather than one long-lived loop thread: there is no module-level state to
start, share, shut down or get wrong after ``fork``; each call gets a fresh loop, which suits
aiohttp sessions and pyHanko objects (they are bound to the loop that made them, and are made
inside the coroutine); and starting a thread costs far less than one signature.

The caller's loop is still blocked while the signature is made (the port is synchronous):
from async code, call the signer through ``await asyncio.to_thread(signer.sign, pdf, request)``
so the loop keeps serving. A coroutine that needs the caller's own loop (e.g. a service served
by that same loop) would wait forever here; signers never do.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_blocking(work: Coroutine[Any, Any, T]) -> T:
    """Run ``work`` to completion and return its result, whether or not a loop is running."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(work)
    context = contextvars.copy_context()
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="dossier-signing") as private:
            return private.submit(context.run, asyncio.run, work).result()
    finally:
        # a no-op once asyncio.run has awaited it; if the thread never started, this avoids
        # a "coroutine was never awaited" warning on top of the real error
        work.close()
