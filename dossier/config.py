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

import glob
import inspect
import os
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, time
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    field_validator,
)

from dossier.actors import Actor
from dossier.agencies import Agency, AgencyDirectory
from dossier.calendar import WorkingCalendar
from dossier.documents.circulars import symbol_problem
from dossier.errors import ConfigError, DossierError
from dossier.payments.base import PaymentGateway
from dossier.payments.registry import GatewayRegistry
from dossier.procedure.loader import field_path
from dossier.signing.base import Signer, SignsStatements
from dossier.sinks.base import Sink

ENV_VAR = "DOSSIER_CONFIG"
GROUPS = {"gateways": "dossier.payment_gateways", "signers": "dossier.signers",
          "sinks": "dossier.sinks", "notifiers": "dossier.notifiers"}
_SECRET_NAMES = frozenset({"secret", "secrets", "password", "passphrase", "token", "pin"})
_SECRET_SUFFIXES = ("_secret", "_key", "_token", "_password", "_passphrase")
_TOP_SECRETS = frozenset({"audit_key", "applicant_key"})


def is_secret_key(key: str) -> bool:
    """Whether a configuration key holds a secret (so must come from the environment)."""
    return key in _SECRET_NAMES or key.endswith(_SECRET_SUFFIXES)


# --- the schema of the engine's own tables --------------------------------------------------

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CalendarSettings(_Strict):
    """An agency's own calendar rules over Vietnam's national one."""

    extra_days_off: list[date] = []
    extra_working_days: list[date] = []
    weekly_rest_days: list[int] | None = Field(default=None, max_length=6)
    sessions: list[tuple[time, time]] | None = Field(default=None, min_length=1, max_length=6)


class AgencySettings(_Strict):
    code: str
    name: str
    short_name: str = ""
    place: str = ""
    address: str = ""
    tax_code: str = ""
    level: Literal["central", "province", "department", "commune"] = "commune"
    parent: str | None = None
    signer: str | None = None
    terminals: list[str] = []
    calendar: CalendarSettings | None = None


class WorkerSettings(_Strict):
    """Each job's interval in seconds (0 turns the job off) and the worker's endpoints."""

    sweep_interval: float = Field(default=30.0, ge=0)
    sweep_batch: int = Field(default=500, ge=1, le=10_000)
    payments_interval: float = Field(default=60.0, ge=0)
    payments_older_than: float = Field(default=900.0, ge=0)  # seconds a payment may pend
    receipts_interval: float = Field(default=60.0, ge=0)
    signatures_interval: float = Field(default=15.0, ge=0)
    outbox_interval: float = Field(default=5.0, ge=0)
    forms_interval: float = Field(default=15.0, ge=0)
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    log_format: Literal["text", "json"] = "text"


class OutboxConfig(_Strict):
    """How the outbox retries and how long it keeps what it delivered (seconds)."""

    max_attempts: int = Field(default=12, ge=1, le=100)
    jitter: Literal["full", "equal"] = "full"
    backoff_base: float = Field(default=10.0, gt=0)
    backoff_cap: float = Field(default=3600.0, gt=0)
    lease: float = Field(default=300.0, gt=0)
    retention: float = Field(default=7 * 86400.0, ge=0)
    batch: int = Field(default=100, ge=1, le=10_000)


class ReceiptConfig(_Strict):
    template_symbol: str = "01BLP0-001"
    series_prefix: str = "AA"


class FormsConfig(_Strict):
    """``[forms]``: the agency's symbols after form numbers (``symbols = { reception =
    "GTN" }``, see :class:`~dossier.forms.service.FormSettings`) and whether ``fire`` makes the
    forms before it returns (``at_fire``) or leaves them to the worker's ``forms`` job."""

    symbols: dict[str, str] = {}
    at_fire: StrictBool = True

    @field_validator("symbols")
    @classmethod
    def _known_symbols(cls, symbols: dict[str, str]) -> dict[str, str]:
        for use, symbol in symbols.items():
            problem = symbol_problem(use, symbol)
            if problem is not None:
                raise ValueError(problem)
        return symbols


class CheckpointConfig(_Strict):
    """``dossier audit checkpoint`` signs with ``signer`` (a ``[signers.*]`` name whose signer
    can sign statements: local or CSC), and ``verify-audit --checkpoint`` accepts signatures
    chaining to the certificates in ``trust_files`` (PEM, relative to this file)."""

    signer: str | None = None
    trust_files: list[str] = []


class ActorConfig(_Strict):
    id: str
    role: str
    agency: str | None = None


class WebTokenConfig(_Strict):
    token: str = Field(repr=False)
    actor: ActorConfig


class LookupLimitConfig(_Strict):
    """Tries of the public lookup (``/tra-cuu``) allowed per ``window`` seconds: from one
    client address, and for one dossier code from all addresses together."""

    per_client: int = Field(default=20, ge=1, le=10_000)
    per_code: int = Field(default=10, ge=1, le=10_000)
    window: float = Field(default=600.0, gt=0, le=86_400)


class WebConfig(_Strict):
    """``dossier serve``: where it listens, who its API tokens are, what it accepts.

    Body limits are bytes: JSON API bodies, HTML form posts, attachment uploads, and the
    payment gateways' callbacks (the engine refuses larger ones itself too).
    """

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    csrf_secret: str | None = Field(default=None, repr=False)
    tokens: list[WebTokenConfig] = []
    lookup: LookupLimitConfig = LookupLimitConfig()
    max_json_bytes: int = Field(default=64 * 1024, ge=1024, le=16 * 1024 * 1024)
    max_form_bytes: int = Field(default=16 * 1024, ge=1024, le=1024 * 1024)
    max_upload_bytes: int = Field(default=20 * 1024 * 1024, ge=1024, le=512 * 1024 * 1024)
    max_callback_bytes: int = Field(default=64 * 1024, ge=1024, le=1024 * 1024)


#: the shortest API token accepted: a token is a password nobody types
MIN_TOKEN_LENGTH = 32


class _Adapter(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)
    kind: str


class _File(_Strict):
    database: str = "sqlite:///dossier.db"
    audit_key: str | list[str] | None = None
    applicant_key: str | list[str] | None = None
    procedures: list[str] = []
    agencies: list[AgencySettings] = []
    gateways: dict[str, _Adapter] = {}
    signers: dict[str, _Adapter] = {}
    sinks: dict[str, _Adapter] = {}
    notifiers: dict[str, _Adapter] = {}
    worker: WorkerSettings = WorkerSettings()
    outbox: OutboxConfig = OutboxConfig()
    receipts: ReceiptConfig = ReceiptConfig()
    forms: FormsConfig = FormsConfig()
    checkpoints: CheckpointConfig = CheckpointConfig()
    web: WebConfig = WebConfig()


# --- what a file builds ------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class Deployment:
    """Everything ``dossier.toml`` describes, built (adapters made, secrets read)."""

    source: str
    database: str
    audit_keys: tuple[str, ...] = field(repr=False)      # secrets: never in repr or logs
    applicant_keys: tuple[str, ...] = field(repr=False)
    procedures: tuple[Path, ...]
    agencies: AgencyDirectory
    calendars: Mapping[str, WorkingCalendar]
    gateways: GatewayRegistry
    signers: Mapping[str, Signer]
    sinks: Mapping[str, Sink]
    notifiers: Mapping[str, Any]
    default_signers: Mapping[str, str]      # agency code → signer name
    worker: WorkerSettings
    outbox: OutboxConfig
    receipts: ReceiptConfig
    forms: FormsConfig = field(default_factory=FormsConfig)
    checkpoint_signer: SignsStatements | None = None
    checkpoint_trust: tuple[x509.Certificate, ...] = ()
    kinds: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # section → name → kind
    web: WebConfig = field(default_factory=WebConfig)
    #: ``[[web.tokens]]``: bearer token → the actor it authenticates
    web_tokens: Mapping[str, Actor] = field(default_factory=dict, repr=False)


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


class _Builder:
    """Turns a checked file into objects, collecting every problem before raising."""

    def __init__(self, source: str, base: Path, parsed: _File) -> None:
        self.source, self.base, self.file = source, base, parsed
        self.errors: list[tuple[str, str]] = []

    def build(self) -> Deployment:
        file = self.file
        directory = self._agencies()
        procedures = self._procedures()
        notifiers = self._adapters("notifiers", {})
        signers = self._adapters("signers", {})
        sinks = self._adapters("sinks", notifiers)
        gateways = self._gateways(directory)
        defaults = {}
        for i, agency in enumerate(file.agencies):
            if agency.signer is not None:
                if agency.signer not in file.signers:
                    self.errors.append((f"agencies[{i}].signer",
                                        f"no [signers.{agency.signer}] in this file"))
                defaults[agency.code] = agency.signer
        self._check_sinks(sinks)
        calendars = self._calendars()
        checkpoint_signer = self._checkpoint_signer(signers)
        trust = self._trust()
        web_tokens = self._web_tokens(directory)
        if self.errors:
            raise ConfigError(self.source, self.errors)
        return Deployment(
            source=self.source, database=self._database(file.database),
            audit_keys=_keys(file.audit_key), applicant_keys=_keys(file.applicant_key),
            procedures=procedures, agencies=directory, calendars=calendars,
            gateways=gateways, signers=signers, sinks=sinks, notifiers=notifiers,
            default_signers=defaults, worker=file.worker, outbox=file.outbox,
            receipts=file.receipts, forms=file.forms, checkpoint_signer=checkpoint_signer,
            checkpoint_trust=trust,
            kinds={section: {name: table.kind for name, table in getattr(file, section).items()}
                   for section in GROUPS},
            web=file.web, web_tokens=web_tokens)

    def _web_tokens(self, directory: AgencyDirectory) -> dict[str, Actor]:
        tokens: dict[str, Actor] = {}
        for i, entry in enumerate(self.file.web.tokens):
            at = f"web.tokens[{i}]"
            if len(entry.token) < MIN_TOKEN_LENGTH:
                self.errors.append((f"{at}.token", f"a token must be at least "
                                    f"{MIN_TOKEN_LENGTH} characters (e.g. `openssl rand -hex "
                                    "32`)"))
                continue
            if entry.token in tokens:
                self.errors.append((f"{at}.token", "the same token is given twice; each "
                                    "actor needs its own"))
                continue
            a = entry.actor
            try:
                actor = Actor(id=a.id, role=a.role, agency=a.agency)
            except DossierError as exc:
                self.errors.append((f"{at}.actor", str(exc)))
                continue
            if actor.agency is not None and len(directory) and directory.get(actor.agency) \
                    is None:
                self.errors.append((f"{at}.actor.agency", f"not in [[agencies]]: "
                                    f"{actor.agency}"))
                continue
            tokens[entry.token] = actor
        return tokens

    def _checkpoint_signer(self, signers: Mapping[str, Signer]) -> SignsStatements | None:
        name = self.file.checkpoints.signer
        if name is None:
            return None
        signer = signers.get(name)
        if name not in self.file.signers:
            self.errors.append(("checkpoints.signer", f"no [signers.{name}] in this file"))
        elif signer is not None and not isinstance(signer, SignsStatements):
            self.errors.append(("checkpoints.signer", f"signer {name} cannot sign a statement "
                                "at once (a local key or a CSC service can)"))
        return signer if isinstance(signer, SignsStatements) else None

    def _trust(self) -> tuple[x509.Certificate, ...]:
        anchors: list[x509.Certificate] = []
        for i, name in enumerate(self.file.checkpoints.trust_files):
            at = f"checkpoints.trust_files[{i}]"
            try:
                data = (self.base / name).read_bytes()
                anchors += x509.load_pem_x509_certificates(data)
            except OSError as exc:
                self.errors.append((at, f"cannot read {name}: {exc.strerror}"))
            except ValueError:
                self.errors.append((at, f"{name} holds no PEM certificate"))
        return tuple(anchors)

    def _database(self, url: str) -> str:
        # a relative SQLite path is relative to the configuration file, like every path here
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and len(url) > 10:
            return prefix + str(self.base / url[len(prefix):])
        return url

    def _agencies(self) -> AgencyDirectory:
        agencies = []
        for i, settings in enumerate(self.file.agencies):
            try:
                agencies.append(Agency(
                    code=settings.code, name=settings.name, short_name=settings.short_name,
                    place=settings.place, address=settings.address, tax_code=settings.tax_code,
                    level=settings.level, parent=settings.parent, signer=settings.signer))
            except DossierError as exc:
                self.errors.append((f"agencies[{i}]", str(exc)))
        try:
            return AgencyDirectory(agencies)
        except DossierError as exc:
            self.errors.append(("agencies", str(exc)))
            return AgencyDirectory()

    def _calendars(self) -> dict[str, WorkingCalendar]:
        national = WorkingCalendar.vietnam()
        calendars = {}
        for i, settings in enumerate(self.file.agencies):
            if settings.calendar is not None:
                c = settings.calendar
                try:
                    calendars[settings.code] = national.with_overrides(
                        extra_days_off=c.extra_days_off,
                        extra_working_days=c.extra_working_days,
                        weekly_rest_days=c.weekly_rest_days, sessions=c.sessions,
                        name=settings.code)
                except DossierError as exc:
                    self.errors.append((f"agencies[{i}].calendar", str(exc)))
        return calendars

    def _procedures(self) -> tuple[Path, ...]:
        found: list[Path] = []
        for i, pattern in enumerate(self.file.procedures):
            matches = sorted(glob.glob(str(self.base / pattern)))
            if not matches:
                self.errors.append((f"procedures[{i}]", f"no file matches {pattern!r}"))
            found.extend(Path(m) for m in matches)
        return tuple(found)

    def _adapters(self, section: str, notifiers: Mapping[str, Any]) -> dict[str, Any]:
        built: dict[str, Any] = {}
        tables: dict[str, _Adapter] = getattr(self.file, section)
        if not tables:
            return built
        factories = _factories(GROUPS[section])
        for name, table in tables.items():
            at = f"{section}.{name}"
            settings = dict(table.model_extra or {})
            if section == "gateways":
                settings.pop("agencies", None)
            if table.kind not in factories:
                self.errors.append((f"{at}.kind", f"no installed {section[:-1]} called "
                                    f"{table.kind!r}; installed: "
                                    f"{', '.join(sorted(factories)) or 'none'}"))
                continue
            for key, value in list(settings.items()):
                if key.endswith("_file") and isinstance(value, str):
                    settings[key] = str(self.base / value)
                if key == "notifier" and section == "sinks":
                    if value not in notifiers:
                        self.errors.append((f"{at}.notifier",
                                            f"no [notifiers.{value}] in this file"))
                        break
                    settings[key] = notifiers[value]
            else:
                built_one = self._call(factories[table.kind], at, name, settings)
                if built_one is not None:
                    built[name] = built_one
        return built

    def _call(self, factory: Callable[..., Any], at: str, name: str,
              settings: dict[str, Any]) -> Any:
        accepted = _parameters(factory)
        if accepted is not None:
            for key in settings:
                if key not in accepted:
                    self.errors.append((f"{at}.{key}", "unknown key (check its spelling); "
                                        f"known: {', '.join(sorted(accepted - {'name'}))}"))
                    return None
            if "name" in accepted:
                settings = {"name": name, **settings}
        try:
            return factory(**settings)
        except DossierError as exc:
            self.errors.append((at, str(exc)))
        except (TypeError, ValueError) as exc:  # a vendor factory's own complaint
            self.errors.append((at, str(exc)))
        return None

    def _gateways(self, directory: AgencyDirectory) -> GatewayRegistry:
        gateways: dict[str, PaymentGateway] = self._adapters("gateways", {})
        bound: dict[str, set[str]] = {}
        for name, table in self.file.gateways.items():
            listed = (table.model_extra or {}).get("agencies")
            if listed is not None:
                if not isinstance(listed, list) or not listed \
                        or not all(isinstance(a, str) for a in listed):
                    self.errors.append((f"gateways.{name}.agencies",
                                        "must be a list of agency codes"))
                    continue
                bound[name] = set(listed)
        for i, agency in enumerate(self.file.agencies):
            for j, terminal in enumerate(agency.terminals):
                if terminal not in self.file.gateways:
                    self.errors.append((f"agencies[{i}].terminals[{j}]",
                                        f"no [gateways.{terminal}] in this file"))
                    continue
                bound.setdefault(terminal, set()).add(agency.code)
        registry = GatewayRegistry()
        for name, gateway in gateways.items():
            agencies = bound.get(name)
            if agencies is not None and len(directory):
                unknown = sorted(agencies - {a.code for a in directory})
                if unknown:
                    self.errors.append((f"gateways.{name}.agencies",
                                        f"not in [[agencies]]: {', '.join(unknown)}"))
                    continue
            try:
                registry.register(gateway, agencies=agencies)
            except DossierError as exc:
                self.errors.append((f"gateways.{name}", str(exc)))
        if "counter" not in registry:  # the clerk's counter, as Engine(gateways=[…]) adds it
            registry.register(_factories(GROUPS["gateways"])["counter"]())
        return registry

    def _check_sinks(self, sinks: Mapping[str, Any]) -> None:
        for name, sink in sinks.items():
            if not isinstance(sink, Sink):
                self.errors.append((f"sinks.{name}", "the factory did not return a Sink"))


def _factories(group: str) -> dict[str, Callable[..., Any]]:
    found: dict[str, Callable[..., Any]] = {}
    for entry in entry_points(group=group):
        try:
            found[entry.name] = entry.load()
        except Exception as exc:  # a broken vendor package must say which one it is
            raise ConfigError("<entry points>", [(group, f"{entry.name} ({entry.value}) "
                                                         f"cannot be loaded: {exc}")]) from exc
    return found


def _parameters(factory: Callable[..., Any]) -> frozenset[str] | None:
    """The keywords ``factory`` takes; None if it takes any (``**settings``)."""
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return frozenset(p.name for p in parameters
                     if p.kind in (inspect.Parameter.KEYWORD_ONLY,
                                   inspect.Parameter.POSITIONAL_OR_KEYWORD))


def _keys(value: str | list[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)
