"""``dossier serve``: the application under uvicorn, with an access log that never records a
query string.

The lookup page takes the citizen's ID number in its query string (``/tra-cuu?code=…&
id_number=…``, so that the answer is a plain link and a plain GET form), and uvicorn's access
log writes the whole target. :class:`NoQueryStrings` cuts it from every access-log record;
an integrator running the application under their own uvicorn adds the same filter to their
``uvicorn.access`` logger (``logging.getLogger("uvicorn.access").addFilter(NoQueryStrings())``).
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.applications import Starlette

from dossier.logs import mask_id_numbers


class NoQueryStrings(logging.Filter):
    """Drops the query string from uvicorn's access-log records (their third argument is the
    request target), and masks ID-number-shaped digits left anywhere in the message."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        elif isinstance(record.msg, str) and not args:
            record.msg = mask_id_numbers(record.msg)
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's logging configuration with :class:`NoQueryStrings` on its access log."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = {**LOGGING_CONFIG}
    config["filters"] = {"no_query_strings": {"()": NoQueryStrings}}
    config["handlers"] = {name: {**handler, "filters": ["no_query_strings"]}
                          if name == "access" else dict(handler)
                          for name, handler in LOGGING_CONFIG["handlers"].items()}
    return config


def serve(app: Starlette, *, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run ``app`` until interrupted (one process; put a reverse proxy with TLS in front)."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_config=log_config(), server_header=False,
                # the lookup is rate-limited per client address: trust X-Forwarded-For only
                # from a proxy on this machine (uvicorn's default), never from anyone
                forwarded_allow_ips="127.0.0.1")
