"""run_blocking: the one way signers run pyHanko's coroutines, with or without a running loop."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest

from dossier.signing.blocking import run_blocking

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("REQUEST_ID", default="-")


async def where() -> tuple[str, str]:
    return threading.current_thread().name, REQUEST_ID.get()


async def fail() -> None:
    raise LookupError("from the coroutine")


def test_without_a_running_loop_it_runs_on_the_calling_thread() -> None:
    assert run_blocking(where()) == (threading.current_thread().name, "-")


def test_inside_a_running_loop_it_runs_on_a_private_thread_with_the_callers_context() -> None:
    async def main() -> tuple[str, str]:
        REQUEST_ID.set("req-42")  # e.g. set by an ASGI middleware for log lines
        return run_blocking(where())

    thread, request_id = asyncio.run(main())
    assert thread.startswith("dossier-signing")
    assert request_id == "req-42"


def test_inside_a_running_loop_exceptions_come_back_unchanged() -> None:
    async def main() -> None:
        run_blocking(fail())

    with pytest.raises(LookupError, match="from the coroutine"):
        asyncio.run(main())
