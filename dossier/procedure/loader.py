"""Reading procedure files: TOML → :class:`Procedure`, with errors that name file and field."""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from os import PathLike
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from dossier.errors import ProcedureDefinitionError
from dossier.procedure.lint import Finding, lint
from dossier.procedure.model import Procedure


def field_path(loc: Sequence[int | str]) -> str:
    """``('steps', 3, 'role')`` → ``steps[3].role``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _message(error: Any) -> str:
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix):]
    if error["type"] == "extra_forbidden":
        message = "unknown field (check its spelling)"
    return message


def parse_procedure(data: dict[str, Any], source: str = "<procedure>") -> tuple[
        Procedure, list[Finding]]:
    """Validate a decoded definition. Raises on schema or lint errors; returns the warnings."""
    try:
        procedure = Procedure.model_validate(data)
    except ValidationError as exc:
        raise ProcedureDefinitionError(
            source, [(field_path(e["loc"]), _message(e)) for e in exc.errors()]) from None
    findings = lint(procedure)
    errors = [(f.path, f.message) for f in findings if f.level == "error"]
    if errors:
        raise ProcedureDefinitionError(source, errors)
    return procedure, [f for f in findings if f.level == "warning"]


def read_procedure(path: str | PathLike[str]) -> tuple[Procedure, list[Finding]]:
    """Load and check a TOML file; return the procedure and its lint warnings."""
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ProcedureDefinitionError(source, [("", f"cannot read file: {exc.strerror}")]) \
            from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ProcedureDefinitionError(source, [("", "file is not UTF-8 text")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ProcedureDefinitionError(source, [("", f"invalid TOML: {exc}")]) from None
    return parse_procedure(data, source)


def load_procedure(path: str | PathLike[str]) -> Procedure:
    """Load a procedure version from a TOML file.

    Raises :class:`~dossier.errors.ProcedureDefinitionError` listing every schema and lint
    error as ``FILE: field.path: message``.
    """
    return read_procedure(path)[0]
