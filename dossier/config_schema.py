"""The shape of ``dossier.toml``: one pydantic model per table, strict (an unknown key is an
error), checked after the environment references are resolved (:mod:`dossier.config`) and
before anything is built (:mod:`dossier.config_build`)."""

from __future__ import annotations

from datetime import date, time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from dossier.documents.circulars import symbol_problem


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
