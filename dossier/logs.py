"""Log records as one JSON object per line (``dossier worker --log-format json``).

What the engine logs carries dossier codes, actor ids and counts, never an applicant's data
(the messages are written that way, see :mod:`dossier.errors`); as a second guard, anything
that looks like a citizen ID number (9 or 12 digits standing alone) is masked before it is
written, whatever logger it comes from.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

#: 12 digits (CCCD) or 9 (old CMND) not inside a longer number or a dossier code's digits
_ID_NUMBER = re.compile(r"(?<![\d.-])(\d{12}|\d{9})(?![\d.-])")


def mask_id_numbers(text: str) -> str:
    """``text`` with anything shaped like a citizen ID number replaced by ``***``."""
    return _ID_NUMBER.sub("***", text)


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "message"}`` and ``exc`` when there is an exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": mask_id_numbers(record.getMessage()),
        }
        if record.exc_info:
            entry["exc"] = mask_id_numbers(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


class MaskingFormatter(logging.Formatter):
    """The plain text format, with ID-number-shaped digits masked."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_id_numbers(super().format(record))


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record comes (not the one at start-up)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure(log_format: str = "text", level: int = logging.INFO) -> None:
    """Log to stderr in ``"text"`` or ``"json"``, replacing the root logger's handlers."""
    handler = _Stderr()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    elif log_format == "text":
        handler.setFormatter(MaskingFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    else:
        raise ValueError(f"log format must be 'text' or 'json', not {log_format!r}")
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
