"""A deployment in one file, ``dossier.toml``: database, agencies, gateways, signers, sinks.

::

    database = "sqlite:///dossier.db"            # or { env = "DOSSIER_DATABASE_URL" }
    audit_key = { env = "DOSSIER_AUDIT_KEY" }     # secrets only as { env = "NAME" }
    procedures = ["procedures/*.toml"]            # registered when the engine starts

    [[agencies]]
    code = "000.00.12.H12"
    name = "Ủy ban nhân dân xã Thử Nghiệm"
    short_name = "UBND xã Thử Nghiệm"
    tax_code = "0101234567"
    level = "commune"                             # central, province, department, commune
    parent = "000.00.00.H12"
    signer = "leader"                             # default signer for its results
    terminals = ["vnpay"]                         # gateways that are its merchant terminals
    calendar = { extra_days_off = [2026-09-03] }

    [gateways.vnpay]
    kind = "vnpay"                                # entry-point name
    tmn_code = "DEMO0001"
    secret = { env = "VNPAY_HASH_SECRET" }
    agencies = ["000.00.12.H12"]                  # optional: without it, every agency here

    [signers.leader]  kind = "local" …   [sinks.partner]  kind = "webhook" …
    [notifiers.mail]  kind = "smtp" …    [worker] …   [outbox] …   [receipts] …
    [forms]           symbols = { reception = "GTN" }   at_fire = true
    [checkpoints]     signer = "leader"   trust_files = ["ca.pem"]

    [web]                                         # `dossier serve` (see dossier.web)
    port = 8000
    csrf_secret = { env = "DOSSIER_CSRF_SECRET" }
    [[web.tokens]]                                # Authorization: Bearer <token> → actor
    token = { env = "CLERK_TOKEN" }
    actor = { id = "nv01", role = "clerk", agency = "000.00.12.H12" }

Rules, all checked before anything is built, every problem reported as ``FILE: path:
message`` (:class:`~dossier.errors.ConfigError`):

- **Secrets are never inline.** A value under a key that names a secret (``secret``,
  ``password``, ``passphrase``, ``token``, ``pin``, any ``*_secret``/``*_key``/``*_token``/
  ``*_password``, and the top-level keys) must be ``{ env = "NAME" }``, or a list of them
  for a rotation (current first). Any other value may be an env reference too.
- ``kind`` names an entry point: group ``dossier.payment_gateways``, ``dossier.signers``,
  ``dossier.sinks`` or ``dossier.notifiers``; the rest of the table are the factory's keyword
  arguments (see :mod:`dossier.factories`), plus ``name`` = the table's name. A sink's
  ``notifier = "mail"`` is the notifier object configured as ``[notifiers.mail]``.
- Keys ending in ``_file`` and the ``procedures`` globs are relative to this file's folder.
- A gateway's agencies are its ``agencies`` together with the agencies that list it under
  ``terminals``; both must name agencies of the directory when there is one.
- ``[web]``: each token maps to one actor (a staff actor names its agency, which must be in
  the directory when there is one); tokens are at least 32 characters and all different.

Building the objects (:func:`load_deployment`) calls the factories, which may read key files;
it opens no database and calls no outside service.
"""
from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from dossier.config_build import GROUPS, Deployment, _Builder
from dossier.config_schema import (
    MIN_TOKEN_LENGTH,
    ActorConfig,
    AgencySettings,
    CalendarSettings,
    CheckpointConfig,
    FormsConfig,
    LookupLimitConfig,
    OutboxConfig,
    ReceiptConfig,
    WebConfig,
    WebTokenConfig,
    WorkerSettings,
    _File,
)
from dossier.errors import ConfigError
from dossier.procedure.loader import field_path

__all__ = ["ENV_VAR", "GROUPS", "MIN_TOKEN_LENGTH", "ActorConfig", "AgencySettings",
           "CalendarSettings", "CheckpointConfig", "Deployment", "FormsConfig",
           "LookupLimitConfig", "OutboxConfig", "ReceiptConfig", "WebConfig", "WebTokenConfig",
           "WorkerSettings", "build_deployment", "config_path", "is_secret_key",
           "load_deployment"]

ENV_VAR = "DOSSIER_CONFIG"
_SECRET_NAMES = frozenset({"secret", "secrets", "password", "passphrase", "token", "pin"})
_SECRET_SUFFIXES = ("_secret", "_key", "_token", "_password", "_passphrase")
_TOP_SECRETS = frozenset({"audit_key", "applicant_key"})


def is_secret_key(key: str) -> bool:
    """Whether a configuration key holds a secret (so must come from the environment)."""
    return key in _SECRET_NAMES or key.endswith(_SECRET_SUFFIXES)


def config_path(path: str | os.PathLike[str] | None) -> Path | None:
    """``path``, else ``$DOSSIER_CONFIG``, else None."""
    chosen = path if path is not None else os.environ.get(ENV_VAR) or None
    return Path(chosen) if chosen is not None else None


def load_deployment(path: str | os.PathLike[str], *,
                    environ: Mapping[str, str] | None = None) -> Deployment:
    """Read, check and build ``path``; :class:`ConfigError` lists every problem found."""
    data = _read_toml(Path(path))
    return build_deployment(data, source=str(path), base=Path(path).resolve().parent,
                            environ=environ)


def build_deployment(data: Mapping[str, Any], *, source: str = "<config>",
                     base: Path | None = None,
                     environ: Mapping[str, str] | None = None) -> Deployment:
    """:func:`load_deployment` of an already decoded file (paths relative to ``base``,
    default: the working directory)."""
    env = os.environ if environ is None else environ
    errors: list[tuple[str, str]] = []
    resolved = _resolve(data, (), env, errors)
    try:
        parsed = _File.model_validate(resolved)
    except ValidationError as exc:
        reported = {path for path, _ in errors}  # (a refused secret is None here: said once)
        errors += [(path, _message(e)) for e in exc.errors()
                   if (path := field_path(e["loc"])) not in reported]
    if errors:
        raise ConfigError(source, errors)
    return _Builder(source, base or Path.cwd(), parsed).build()


def _read_toml(path: Path) -> dict[str, Any]:
    source = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(source, [("", f"cannot read file: {exc.strerror}")]) from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(source, [("", "file is not UTF-8 text")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, [("", f"invalid TOML: {exc}")]) from None


def _message(error: Any) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    return "unknown key (check its spelling)" if error["type"] == "extra_forbidden" else message


def _path(parts: Sequence[str | int]) -> str:
    return field_path(parts)


def _resolve(value: Any, at: tuple[str | int, ...], env: Mapping[str, str],
             errors: list[tuple[str, str]]) -> Any:
    """``value`` with every ``{ env = "NAME" }`` replaced by the variable's value; inline
    secrets and unset variables are recorded in ``errors``."""
    key = next((p for p in reversed(at) if isinstance(p, str)), "")
    secret = is_secret_key(key) or (len(at) == 1 and key in _TOP_SECRETS)
    if _is_env_ref(value):
        name = value["env"]
        if not isinstance(name, str) or not name:
            errors.append((_path(at), "env must name an environment variable"))
            return None
        if name not in env or not env[name]:
            errors.append((_path(at), f"environment variable {name} is not set"))
            return None
        return env[name]
    if isinstance(value, dict):
        if "env" in value:
            errors.append((_path(at), "an env reference is { env = \"NAME\" } and nothing "
                                      "else"))
            return None
        return {k: _resolve(v, (*at, k), env, errors) for k, v in value.items()}
    if isinstance(value, list):
        if secret and not all(_is_env_ref(v) for v in value):
            errors.append((_path(at), "secrets come from the environment: give "
                                      "{ env = \"NAME\" } (or a list of them), never the value"))
            return None
        return [_resolve(v, (*at, i), env, errors) for i, v in enumerate(value)]
    if secret and value is not None:
        errors.append((_path(at), "secrets come from the environment: give "
                                  "{ env = \"NAME\" }, never the value"))
        return None
    return value


def _is_env_ref(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"env"}
