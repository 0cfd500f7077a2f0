"""What a checked ``dossier.toml`` builds: the :class:`Deployment` (adapters made by their
entry points, secrets read, the agency directory and calendars), every problem collected
before :class:`~dossier.errors.ConfigError` is raised. See :mod:`dossier.config` for the
file's rules."""

from __future__ import annotations

import glob
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from cryptography import x509

from dossier.actors import Actor
from dossier.agencies import Agency, AgencyDirectory
from dossier.calendar import WorkingCalendar
from dossier.config_schema import (
    MIN_TOKEN_LENGTH,
    FormsConfig,
    OutboxConfig,
    ReceiptConfig,
    WebConfig,
    WorkerSettings,
    _Adapter,
    _File,
)
from dossier.errors import ConfigError, DossierError
from dossier.payments.base import PaymentGateway
from dossier.payments.registry import GatewayRegistry
from dossier.signing.base import Signer, SignsStatements
from dossier.sinks.base import Sink

GROUPS = {"gateways": "dossier.payment_gateways", "signers": "dossier.signers",
          "sinks": "dossier.sinks", "notifiers": "dossier.notifiers"}

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
