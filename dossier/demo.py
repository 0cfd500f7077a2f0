"""``dossier demo``: a handful of dossiers of three sample procedures, end to end.

Everything it writes goes inside ``--out`` (default ``./dossier-demo``): the SQLite database;
under ``bieu-mau/`` every one-stop-shop form the story issued (Giấy tiếp nhận, yêu cầu bổ
sung, từ chối, xin lỗi under Thông tư 01/2018/TT-VPCP in July; a Giấy tiếp nhận and a Thông
báo dừng giải quyết under Thông tư 03/2025/TT-VPCP in September), each dossier's control
sheet (Phiếu kiểm soát, PDF and HTML) and each agency's tracking book (Sổ theo dõi hồ sơ, PDF
and CSV); the e-receipts under ``bien-lai/``; signed results and copies under ``ky-so/``.
The commune's forms and receipts carry its seal (its default signer, a local key of the
demo's throw-away PKI). Each run starts from an empty database. Time is a
:class:`~dossier.testing.FrozenClock` that the demo moves forward
(day by day for the deadlines section, with the timer worker sweeping each morning), so runs
are repeatable. At the end, a few citizens rate their dossiers and the QĐ 766 quality
report is printed and written as ``report.html``.
"""

from __future__ import annotations

import hmac
import json
import os
import re
import secrets
import shutil
import sqlite3
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Literal

from dossier.actors import Actor
from dossier.applicant_keys import ENV_VAR as APPLICANT_KEY_VAR
from dossier.audit import ENV_VAR
from dossier.clock import LOCAL_TZ
from dossier.documents.pdf import new_document
from dossier.engine import Engine
from dossier.errors import AuditError, DossierError, GuardFailed
from dossier.payments import FakeProviderService, MomoGateway, VnpayGateway
from dossier.payments.fake import demo_momo_config, demo_vnpay_config
from dossier.payments.service import instructions
from dossier.procedure import Procedure, load_procedure
from dossier.records import Dossier, Event, Payment, ReuseKind, ReuseSource, SignatureRequest
from dossier.reports import render_html, render_table
from dossier.resources import samples
from dossier.signing import CscRemoteSigner, LocalSigner, PhoneConfirmSigner, Signer
from dossier.signing.fakes import FakeCscService, FakePhoneService
from dossier.signing.testpki import TEST_PASSPHRASE, TestPki, build_test_pki
from dossier.sinks.fakes import FakeSmtpServer, LoopbackReceiver, ReceivedRequest
from dossier.sinks.webhook import decode_secret, generate_secret, sign
from dossier.sla import TIMELINESS_LABELS
from dossier.states import Role, State, Step
from dossier.testing import FrozenClock
from dossier.worker import Worker

CERTIFICATION = "2.000815"   # chứng thực bản sao điện tử từ bản chính (commune)
CRIMINAL_RECORD = "3.000333"  # cấp phiếu lý lịch tư pháp (Công an tỉnh, from 1/3/2025)
BUILDING_PERMIT = "1.009994"  # cấp giấy phép xây dựng nhà ở riêng lẻ (commune)
COMMUNE = "000.00.12.H12"     # illustrative agency codes (mã đơn vị)
PROVINCE = "000.00.05.H12"
_SHORT = {COMMUNE: "xa", PROVINCE: "tinh"}
#: The staff of the story, by role and agency: (full name, title) as forms print them.
STAFF = {
    (Role.CLERK, COMMUNE): ("Nguyễn Thị Lan", "Công chức Bộ phận Một cửa"),
    (Role.SPECIALIST, COMMUNE): ("Phạm Văn Hùng", "Công chức tư pháp - hộ tịch"),
    (Role.CERTIFIER, COMMUNE): ("Nguyễn Văn Ký", "Phó Chủ tịch Ủy ban nhân dân xã"),
    (Role.LEADER, COMMUNE): ("Nguyễn Văn Ký", "Phó Chủ tịch"),
    (Role.CLERK, PROVINCE): ("Lê Thị Mai", "Công chức Bộ phận Một cửa"),
    (Role.SPECIALIST, PROVINCE): ("Đỗ Văn Tâm", "Chuyên viên"),
    (Role.LEADER, PROVINCE): ("Trần Thị Duyệt", "Phó Giám đốc"),
}
SIGNERS = ("local", "csc", "phone")  # the demo's results rotate over the three signers
PAGE_FORMATS: tuple[Literal["pdf", "html"], ...] = ("pdf", "html")
BOOK_FORMATS: tuple[Literal["pdf", "csv"], ...] = ("pdf", "csv")


@dataclass
class Demo:
    engine: Engine
    clock: FrozenClock
    out: Callable[[str], None]
    provider: FakeProviderService
    citizen: Actor
    phone: FakePhoneService
    shown_bad_callbacks: bool = False
    shown_unsigned: bool = False
    signed: int = 0
    phone_rejected: bool = False
    applicants: int = 0

    def staff(self, role: Role, agency: str) -> Actor:
        name, title = STAFF[(role, agency)]
        return Actor(id=f"{role.value}-{_SHORT[agency]}", role=role, agency=agency, name=name,
                     title=title)

    def tick(self, minutes: int = 7) -> None:
        self.clock.advance(timedelta(minutes=minutes))

    def show(self, before: Dossier | None, after: Dossier, trigger: str, actor: Actor) -> None:
        local = self.clock.now().astimezone(LOCAL_TZ).strftime("%d/%m %H:%M")
        source = before.state.value if before else "-"
        mark = ""
        if trigger == "receive" and after.due_at is not None:
            mark = "  hẹn trả " + after.due_at.astimezone(LOCAL_TZ).strftime("%H:%M %d/%m/%Y")
        elif trigger == "return_result" and after.deadlines.timeliness:
            mark = "  " + TIMELINESS_LABELS[after.deadlines.timeliness].lower()
        self.out(f"{local}  {after.code:<28} {trigger:<19} {source:>20} -> "
                 f"{after.state.value:<20} {actor.id}{mark}")

    def fire(self, dossier: Dossier, trigger: str, actor: Actor, **data: object) -> Dossier:
        self.tick()
        after = self.engine.fire(dossier.code, trigger, actor=actor, **data)  # type: ignore[arg-type]
        self.show(dossier, after, trigger, actor)
        return after

    def submit(self, code: str, name: str, actor: Actor, channel: str, agency: str,
               **fee_basis: int) -> Dossier:
        self.tick()
        self.applicants += 1
        applicant = {"name": name, "id_number": "001090012345",
                     "email": f"cong-dan-{self.applicants:02d}@example.vn"}
        dossier = self.engine.submit(code, applicant=applicant,
                                     channel=channel, actor=actor, agency=agency,
                                     fee_basis=fee_basis or None)
        self.show(None, dossier, "submit", actor)
        return dossier

    def run_steps(self, dossier: Dossier, until: State = State.RETURNED) -> Dossier:
        """Complete the procedure's steps in order, each by its role, until ``until``."""
        procedure = self.engine.procedure(dossier.procedure_code, dossier.procedure_version)
        specs = {spec.state: spec for spec in procedure.steps}
        while dossier.state != until and dossier.state in specs:
            spec = specs[dossier.state]
            actor = self.staff(spec.role, dossier.agency)
            if spec.name in (Step.DIGITISE, Step.CERTIFY):
                self.attach_missing(dossier, procedure, actor)
            data: dict[str, object] = {}
            if spec.name is Step.PAY:
                dossier = self.pay(dossier, actor)
                continue
            if spec.name is Step.SIGN:
                dossier = self.sign(dossier, actor)
                continue
            if spec.name is Step.CERTIFY:
                dossier = self.certify(dossier, procedure, actor)
                continue
            if spec.name is Step.RETURN:
                data = {"method": "online" if dossier.channel == "online" else "counter"}
            dossier = self.fire(dossier, spec.trigger, actor, **data)
        return dossier

    def sign(self, dossier: Dossier, leader: Actor) -> Dossier:
        """Sign the result: locally, through the fake CSC service, or on the signer's phone
        (the first phone request is rejected on the phone and asked again)."""
        self.tick()
        code, signer = dossier.code, SIGNERS[self.signed % len(SIGNERS)]
        self.signed += 1
        if not self.shown_unsigned:  # once: "sign" alone is refused, the signed result fires it
            self.shown_unsigned = True
            try:
                self.engine.fire(code, "sign", actor=leader)
            except GuardFailed as exc:
                self.out(f"{'':11} {code:<28} sign                 refused without a signed "
                         f"result ({exc.guard}); sign_result makes one")
        outcome = self.engine.sign_result(code, actor=leader, signer=signer)
        while isinstance(outcome, SignatureRequest):
            if not self.phone_rejected:
                self.phone_rejected = True
                self.phone.reject(outcome.transaction_id, "Cần xem lại nội dung")
                self.engine.poll_signatures()
                self.out(f"{'':11} {code:<28} sign (phone)        rejected on the phone, "
                         "asked again")
                outcome = self.engine.sign_result(code, actor=leader, signer=signer)
                continue
            self.phone.confirm(outcome.transaction_id)
            self.engine.poll_signatures()
            outcome = self.engine.get(code)
        self.show(dossier, outcome, f"sign ({signer})", leader)
        return outcome

    def certify(self, dossier: Dossier, procedure: Procedure, certifier: Actor) -> Dossier:
        """Issue the certified electronic copy of each original, signed by the certifier."""
        self.tick()
        after = dossier
        for component in procedure.components:
            if component.may_certify:
                after = self.engine.certify_copy(dossier.code, component.id, actor=certifier,
                                                 signer="local")
        number = [d.number for d in self.engine.documents(dossier.code)
                  if d.kind == "certified_copy"]
        self.show(dossier, after, f"certify (số {', '.join(map(str, number))})", certifier)
        return after

    def pay(self, dossier: Dossier, clerk: Actor) -> Dossier:
        """Online dossiers pay through the fake VNPay; the others at the counter."""
        self.tick()
        code = dossier.code
        if dossier.channel != "online":
            self.engine.confirm_counter_payment(code, actor=clerk, amount=dossier.fee_due,
                                                method="cash")
            after = self.engine.get(code)
            self.show(dossier, after, "pay (tiền mặt)", clerk)
            return after
        payment = self.pay_online(code, "vnpay")
        after = self.engine.get(code)
        self.show(dossier, after, "pay (vnpay)", Actor.system())
        if not self.shown_bad_callbacks:  # once: what a replay and a forgery change
            self.shown_bad_callbacks = True
            for label, callback in (
                    ("the same callback again", self.provider.replay(payment.order_ref)),
                    ("a forged callback", self.provider.forged(payment.order_ref,
                                                               at=self.clock.now()))):
                reply = self.engine.handle_payment_callback("vnpay", callback.payload)
                body = reply.body.decode() if isinstance(reply.body, bytes) else reply.body
                self.out(f"{'':11} {code:<28} {label:<24} -> HTTP {reply.status} {body}")
            assert self.engine.get(code) == after
        return after

    def pay_online(self, code: str, provider: str) -> Payment:
        """The citizen pays the fee through ``provider``'s page; the provider calls back."""
        payment = self.engine.request_payment(code, provider, actor=self.citizen,
                                              idempotency_key=f"{code}-{provider}",
                                              return_url="https://dichvucong.example/tt")
        self.provider.open(instructions(payment))
        callback = self.provider.success(payment.order_ref, at=self.clock.now())
        self.engine.handle_payment_callback(provider, callback.payload)
        return payment

    def reuse(self, dossier: Dossier, component: str, earlier: str, actor: Actor) -> None:
        """Attach ``component`` as the certified copy dossier ``earlier`` returned, taken from
        the results kept here (tái sử dụng) rather than scanned again."""
        copy = next(d for d in self.engine.documents(earlier) if d.kind == "certified_copy")
        self.engine.attach(dossier.code, component, self.engine.read_document(earlier,
                                                                              copy.sha256),
                           f"{component}.pdf", actor=actor,
                           reused_from=ReuseSource(kind=ReuseKind.DOSSIER, reference=earlier,
                                                   sha256=copy.sha256))
        self.out(f"{'':11} {dossier.code:<28} attach {component}, reused: the certified copy "
                 f"of {earlier}")

    def attach_missing(self, dossier: Dossier, procedure: Procedure, actor: Actor) -> None:
        stored = {a.component for a in self.engine.attachments(dossier.code)}
        for component in procedure.components:
            if (component.must_digitise or component.may_certify) and \
                    component.id not in stored:
                self.engine.attach(dossier.code, component.id, _scan(component.name,
                                                                     self.clock.now()),
                                   f"{component.id}.pdf", actor=actor)
                self.out(f"{'':11} {dossier.code:<28} attach {component.id}")


def run_demo(out_dir: Path, *, echo: Callable[[str], None] = print) -> list[Dossier]:
    """Run the demo into ``out_dir``; return the final dossiers."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for leftover in ("dossier.db", "dossier.db-wal", "dossier.db-shm"):
        (out_dir / leftover).unlink(missing_ok=True)
    for name in ("bieu-mau", "bien-lai", "ky-so"):
        shutil.rmtree(out_dir / name, ignore_errors=True)
        (out_dir / name).mkdir()

    # Monday 30 June 2025, 08:00 in Hà Nội: the last day of the district-level rules.
    clock = FrozenClock(datetime(2025, 6, 30, 8, 0, tzinfo=LOCAL_TZ))
    pki = build_test_pki(clock)   # a throw-away PKI: root, CA, signers, valid at the demo's time
    with FakeCscService(pki, clock=clock) as csc, FakePhoneService(pki, clock=clock) as phone, \
            LoopbackReceiver() as hook, FakeSmtpServer() as smtp:
        local = LocalSigner.from_pkcs12(pki.pkcs12(pki.signer), TEST_PASSPHRASE, clock=clock)
        signers: dict[str, Signer] = {
            "local": local,
            "csc": CscRemoteSigner(csc.url, token=csc.token, pin=csc.pin, clock=clock),
            "phone": PhoneConfirmSigner(phone.url, client_id=phone.client_id,
                                        client_secret=phone.client_secret, user_id="signer",
                                        clock=clock),
        }
        return _run(out_dir, clock, signers, phone, pki, local, echo, Receivers(hook, smtp))


@dataclass(frozen=True)
class Receivers:
    """What the demo's sinks deliver to: a webhook receiver and a mail server, on loopback."""

    hook: LoopbackReceiver
    smtp: FakeSmtpServer


def _write_config(out_dir: Path, receivers: Receivers,
                  pki: TestPki) -> tuple[Path, dict[str, str]]:
    """The demo's own ``dossier.toml`` and the environment its secrets come from."""
    path = out_dir / "dossier.toml"
    path.write_text(DEMO_CONFIG.format(hook=receivers.hook.url, smtp=receivers.smtp.port),
                    encoding="utf-8")
    # the commune's seal: a key of the demo's throw-away PKI (a real one stays off the disk
    # the database is on, or in an HSM)
    (out_dir / "ky-so" / "con-dau-xa.p12").write_bytes(pki.pkcs12(pki.signer))
    environ = {
        "DEMO_SEAL_PASSPHRASE": TEST_PASSPHRASE.decode(),
        # the demo's throw-away audit key, kept beside its database so that `dossier
        # verify-audit --checkpoint` can be tried on it; a real one lives in the deployment's
        # secrets, never in the database or the code
        ENV_VAR: os.environ.get(ENV_VAR) or secrets.token_hex(32),
        "DEMO_WEBHOOK_SECRET": generate_secret(),
        # ID numbers are indexed by their keyed digest: `dossier serve`'s lookup needs it
        APPLICANT_KEY_VAR: os.environ.get(APPLICANT_KEY_VAR) or secrets.token_hex(32),
        # bearer tokens of the web API ([[web.tokens]]) and the forms' CSRF secret
        "DEMO_CLERK_TOKEN": secrets.token_hex(32),
        "DEMO_LEADER_TOKEN": secrets.token_hex(32),
        "DEMO_CSRF_SECRET": secrets.token_hex(32),
    }
    (out_dir / "audit-key.txt").write_text(environ[ENV_VAR] + "\n", encoding="utf-8")
    # the same throw-away secrets for `dossier serve` on the demo's output (see SERVE_HINT)
    (out_dir / "demo.env").write_text(
        "# Written by `dossier demo`: the throw-away secrets its dossier.toml names.\n"
        + "".join(f"{name}={value}\n" for name, value in sorted(environ.items())),
        encoding="utf-8")
    return path, environ


#: how to serve the demo's dossiers (printed at the end of the demo)
SERVE_HINT = "set -a; . {out}/demo.env; set +a; dossier serve --config {out}/dossier.toml"


DEMO_CONFIG = """\
# Written by `dossier demo`: the deployment the demo runs, as an integrator would write it.
# Secrets come from the environment only; the payment gateways and signers talk to the demo's
# in-process fakes, so the demo passes them to Engine.from_config in Python.
database = "sqlite:///dossier.db"
audit_key = {{ env = "DOSSIER_AUDIT_KEY" }}
applicant_key = {{ env = "DOSSIER_APPLICANT_KEY" }}
procedures = []

[[agencies]]
code = "000.00.00.H12"
name = "Ủy ban nhân dân tỉnh Thử Nghiệm"
short_name = "UBND tỉnh Thử Nghiệm"
level = "province"
place = "Thử Nghiệm"
address = "Số 1 đường Trung tâm, tỉnh Thử Nghiệm"

[[agencies]]
code = "000.00.05.H12"
name = "Công an tỉnh Thử Nghiệm"
level = "department"
parent = "000.00.00.H12"
place = "Thử Nghiệm"
address = "Số 5 đường Trung tâm, tỉnh Thử Nghiệm"
tax_code = "0109876543"

[[agencies]]
code = "000.00.12.H12"
name = "Ủy ban nhân dân xã Thử Nghiệm"
short_name = "UBND xã Thử Nghiệm"
parent = "000.00.00.H12"
place = "Thử Nghiệm"
address = "Thôn Trung, xã Thử Nghiệm, tỉnh Thử Nghiệm"
tax_code = "0101234567"
signer = "local"                    # its seal: forms and receipts are signed with it

[signers.local]                     # replaced in Python by the same key on the demo's clock
kind = "local"
p12_file = "ky-so/con-dau-xa.p12"
passphrase = {{ env = "DEMO_SEAL_PASSPHRASE" }}

[sinks.partner]                     # an integrator's system, told of every event
kind = "webhook"
url = "{hook}"
secret = {{ env = "DEMO_WEBHOOK_SECRET" }}

[notifiers.mail]
kind = "smtp"
host = "127.0.0.1"
port = {smtp}
sender = "mot-cua@thu-nghiem.example.vn"

[sinks.citizens]                    # the applicant, by e-mail
kind = "notify"
notifier = "mail"

[worker]
outbox_interval = 5

[forms]                             # ký hiệu after form numbers; made before `fire` returns
symbols = {{ reception = "GTN", supplement = "YCBS", refusal = "TC" }}
at_fire = true                      # false: an API process leaves the PDFs to the worker

[web]                               # `dossier serve`: the API's tokens, the forms' secret
port = 8000
csrf_secret = {{ env = "DEMO_CSRF_SECRET" }}

[[web.tokens]]
token = {{ env = "DEMO_CLERK_TOKEN" }}
actor = {{ id = "clerk-xa", role = "clerk", agency = "000.00.12.H12" }}

[[web.tokens]]
token = {{ env = "DEMO_LEADER_TOKEN" }}
actor = {{ id = "leader-tinh", role = "leader", agency = "000.00.05.H12" }}
"""


def _run(out_dir: Path, clock: FrozenClock, signers: dict[str, Signer], phone: FakePhoneService,
         pki: TestPki, local: LocalSigner, echo: Callable[[str], None],
         receivers: Receivers) -> list[Dossier]:
    forms, receipts, signed = out_dir / "bieu-mau", out_dir / "bien-lai", out_dir / "ky-so"
    # the payment providers are in-process fakes speaking VNPay's and MoMo's real protocols
    vnpay_config, momo_config = demo_vnpay_config(), demo_momo_config()
    provider = FakeProviderService(vnpay_config=vnpay_config, momo_config=momo_config)
    config, environ = _write_config(out_dir, receivers, pki)
    engine = Engine.from_config(config, environ=environ, clock=clock,
                                gateways=[VnpayGateway(vnpay_config, transport=provider),
                                          MomoGateway(momo_config, transport=provider)],
                                signers=signers)
    for path in samples():
        engine.register(load_procedure(path))
    citizen = Actor(id="cd-0001", role=Role.CITIZEN)
    demo = Demo(engine=engine, clock=clock, out=echo, provider=provider, citizen=citizen,
                phone=phone)
    clerk_c, clerk_p = demo.staff(Role.CLERK, COMMUNE), demo.staff(Role.CLERK, PROVINCE)
    codes: list[str] = []

    echo("== 30/06/2025: chứng thực under the rules in force that day")
    d = demo.submit(CERTIFICATION, "Trần Thị B", clerk_c, "counter", COMMUNE, pages=3, copies=2)
    codes.append(demo.run_steps(d).code)

    echo("== 01/07/2025: Nghị định 118/2025 in force; new dossiers take the new version")
    clock.set(datetime(2025, 7, 1, 8, 0, tzinfo=LOCAL_TZ))
    d = demo.submit(CERTIFICATION, "Lê Văn C", clerk_c, "counter", COMMUNE, pages=12)
    codes.append(demo.run_steps(d).code)
    d = demo.submit(CERTIFICATION, "Phạm Thị D", citizen, "online", COMMUNE, pages=1)
    codes.append(demo.run_steps(d).code)

    echo("== a supplement round: the clerk asks for the original, the citizen brings it")
    d = demo.submit(CERTIFICATION, "Hoàng Văn E", clerk_c, "counter", COMMUNE, pages=2)
    d = demo.fire(d, "request_supplement", clerk_c, reason="Thiếu bản chính để đối chiếu")
    d = demo.fire(d, "supplement", clerk_c, note="Công dân mang bản chính đến")
    codes.append(demo.run_steps(d).code)

    echo("== what the engine refuses (each leaves the dossier exactly as it was)")
    d = demo.submit(CERTIFICATION, "Đỗ Văn M", clerk_c, "counter", COMMUNE, pages=4)
    d = demo.fire(d, "receive", clerk_c)
    attempts: list[tuple[str, str, Actor]] = [
        ("digitise before the scan is attached", "digitise", clerk_c),
        ("a clerk of another agency", "digitise", clerk_p),
        ("approve: not a step of this procedure", "approve", clerk_c),
    ]
    for label, trigger, actor in attempts:
        try:
            engine.fire(d.code, trigger, actor=actor)
        except DossierError as exc:
            echo(f"{'':11} {type(exc).__name__:<20} {label}")
    assert engine.get(d.code).version == d.version
    codes.append(demo.run_steps(d).code)

    echo("== lý lịch tư pháp at the province: counter and online")
    d = demo.submit(CRIMINAL_RECORD, "Vũ Thị G", clerk_p, "counter", PROVINCE, copies=3)
    codes.append(demo.run_steps(d).code)
    d = demo.submit(CRIMINAL_RECORD, "Đặng Văn H", citizen, "online", PROVINCE, copies=1)
    demo.pay_online(d.code, "momo")   # paid at submission: pay completes itself on receive
    echo(f"{'':11} {d.code:<28} paid through MoMo before reception")
    codes.append(demo.run_steps(d).code)

    codes += _deadlines(demo, citizen, land_copy=codes[1])

    echo("== side exits: a refusal after processing and a withdrawal")
    d = demo.submit(CRIMINAL_RECORD, "Bùi Văn K", clerk_p, "counter", PROVINCE, copies=1)
    d = demo.run_steps(d, until=State.PROCESSING)
    d = demo.fire(d, "refuse", demo.staff(Role.LEADER, PROVINCE),
                  reason="Không đủ điều kiện cấp theo Điều 45 Luật Lý lịch tư pháp")
    codes.append(d.code)
    d = demo.submit(CERTIFICATION, "Ngô Thị L", citizen, "online", COMMUNE, pages=1)
    d = demo.fire(d, "withdraw", citizen, reason="Không còn nhu cầu")
    codes.append(d.code)

    codes += _circular_2025(demo)
    # the refusal the timer fired (hết hạn bổ sung) has its form made by the worker's forms
    # job; run it once, as the worker would
    engine.issue_pending_forms()

    finals = [engine.get(code) for code in codes]
    issued: Counter[str] = Counter()
    for dossier in finals:
        for document in engine.documents(dossier.code):
            folder = forms if document.kind.startswith("form-") else \
                receipts if document.kind == "receipt" else signed
            name = document.filename if dossier.code in document.filename else \
                f"{dossier.code}-{document.filename}"
            (folder / name).write_bytes(engine.read_document(dossier.code, document.sha256))
            issued[document.kind] += 1
        # on demand: the control sheet as it stands now (Thông tư 03/2025/TT-VPCP: Mẫu 06)
        for page in PAGE_FORMATS:
            (forms / f"{dossier.code}-form-06.{page}").write_bytes(
                engine.render_form(dossier.code, "form-06", format=page))
    start, end = date(2025, 6, 1), clock.now().astimezone(LOCAL_TZ).date()
    for agency in (COMMUNE, PROVINCE):
        for book in BOOK_FORMATS:
            (forms / f"so-theo-doi-{agency}-form-07.{book}").write_bytes(
                engine.tracking_book(agency, start, end, format=book))
    intact = sum(engine.verify_audit(code) for code in codes)
    _summary(finals, intact, [e for c in codes for e in engine.history(c)], echo)
    payments = engine.payment_summary()
    review = engine.payment_callbacks(review=True)
    echo(f"online payment rate: {payments.online}/{payments.total} paid dossiers "
         f"({payments.online_rate:.0%}); receipts issued: "
         f"{sum(len(engine.receipts(c)) for c in codes)}; callbacks kept for review: "
         f"{len(review)}")
    echo(f"database: {out_dir / 'dossier.db'}")
    echo(f"forms issued by the kernel: {forms}/ " + ", ".join(
        f"{kind} × {n}" for kind, n in sorted(issued.items()) if kind.startswith("form-")))
    echo(f"{'':11} plus a control sheet per dossier (form-06, PDF and HTML) and each "
         "agency's tracking book (form-07, PDF and CSV)")
    echo(f"e-receipts (PDF; the commune's carry its seal): {receipts}/ "
         f"({issued['receipt']} files)")
    (signed / "test-root.pem").write_bytes(pki.root.cert_pem)
    documents = [d for c in codes for d in engine.documents(c)
                 if d.kind in ("result", "certified_copy")]
    copies = sum(d.kind == "certified_copy" for d in documents)
    echo(f"signed PDFs: {signed}/ ({len(documents) - copies} results, {copies} certified "
         "copies; check them with pdfsig, trusting test-root.pem)")
    _checkpoint(engine, out_dir, codes, local, pki, echo)
    _outflow(engine, config, receivers, environ["DEMO_WEBHOOK_SECRET"], echo)
    echo(f"web (tra cứu, API; needs dossier[web]): {SERVE_HINT.format(out=out_dir)}")
    _quality(demo, finals, out_dir)
    engine.close()
    return finals


def _quality(demo: Demo, finals: list[Dossier], out_dir: Path) -> None:
    """Citizens rate their returned dossiers (one through the clerk, at the counter), then
    the QĐ 766 indicators of the demo's period: the table, and report.html with its charts."""
    engine, echo = demo.engine, demo.out
    echo("== service quality: citizens' ratings and the QĐ 766 indicators")
    returned = [d for d in finals if d.state is State.RETURNED]
    for dossier in [d for d in returned if d.owner == demo.citizen.id] + [
            next(d for d in returned if d.channel == "counter")]:
        demo.tick()
        late = dossier.deadlines.timeliness == "late"
        by = demo.citizen if dossier.owner else demo.staff(Role.CLERK, dossier.agency)
        rating = engine.rate(dossier.code, actor=by, level=1 if late else 3 - (by is not
                                                                              demo.citizen),
                             criteria={"timeliness": 1 if late else 3})
        echo(f"{demo.clock.now().astimezone(LOCAL_TZ):%d/%m %H:%M}  {dossier.code:<28} "
             f"{'rate':<19} {rating.level.label} ({by.id})")
    report = engine.quality_report(start=date(2025, 6, 30), end=date(2025, 8, 5))
    for line in render_table(report).splitlines():
        echo(line)
    path = out_dir / "report.html"
    path.write_text(render_html(report), encoding="utf-8")
    echo(f"report: {path} (charts: on time by month, online by procedure, score per group)")


def _outflow(engine: Engine, config: Path, receivers: Receivers, secret: str,
             echo: Callable[[str], None]) -> None:
    """The outbox, delivered by the worker's jobs to the sinks dossier.toml names."""
    echo("== what flowed out: the outbox, delivered through the sinks of dossier.toml")
    assert engine.deployment is not None
    worker = Worker.from_settings(engine, engine.deployment.worker)
    backlog = sum(b.pending for b in engine.outbox_backlog().values())
    echo(f"config: {config} (agencies, audit key by env, a webhook and a mail notifier)")
    echo(f"outbox: {backlog} messages waiting; the worker runs each job once:")
    while True:
        outcomes = worker.run_all_once()
        echo("  " + "; ".join(f"{job}: {outcome}" for job, outcome in outcomes.items()))
        if not any(b.pending for b in engine.outbox_backlog().values()):
            break
    hook, smtp = receivers.hook, receivers.smtp
    types = Counter(request.json()["type"] for request in hook.requests)
    checked = sum(_signature_ok(secret, request) for request in hook.requests)
    echo(f"webhook (sink partner, on 127.0.0.1): {len(hook.requests)} messages, {checked} "
         "with a valid Standard Webhooks signature; " + ", ".join(
             f"{kind.removeprefix('dossier.')} {n}" for kind, n in sorted(types.items())))
    # subjects name the dossier ("Hồ sơ 000.00.12.H12-250701-0001 đã được tiếp nhận"): count
    # them by what they say
    subjects = Counter(re.sub(r"\S*-\d{6}-\d{4,}", "…", str(mail["Subject"]))
                       for mail in smtp.messages)
    echo(f"mail on 127.0.0.1 (SMTP): {len(smtp.messages)} e-mails to applicants")
    for subject, n in sorted(subjects.items()):
        echo(f"  {n:>3} × {subject}")


def _signature_ok(secret: str, request: ReceivedRequest) -> bool:
    """What a receiver does with any Standard Webhooks library: recompute ``v1`` over
    ``id.timestamp.body`` with the shared secret and compare."""
    headers = {name.lower(): value for name, value in request.headers.items()}
    expected = sign(decode_secret(secret), headers["webhook-id"],
                    int(headers["webhook-timestamp"]), request.body)
    return any(hmac.compare_digest(expected, given)
               for given in headers["webhook-signature"].split())


def _checkpoint(engine: Engine, out_dir: Path, codes: list[str], signer: LocalSigner,
                pki: TestPki, echo: Callable[[str], None]) -> None:
    """A checkpoint of the ledger, signed by the agency's signer and verified against the
    demo's root; then what an edit by SQL looks like (on a copy)."""
    echo("== the ledger: a checkpoint, and a row edited behind the engine's back")
    statement = engine.audit_checkpoint(signer=signer)
    path = out_dir / "checkpoint.json"
    path.write_text(json.dumps(statement, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                    encoding="utf-8")
    report = engine.verify_checkpoint(statement, trust=[pki.root.cert])
    agencies = statement["agencies"]
    echo(f"checkpoint: {sum(a['dossiers'] for a in agencies.values())} dossiers in "
         f"{len(agencies)} agencies, Merkle roots, HMAC under the audit key, CMS-signed: {path}; "
         f"verified: {'intact' if report.ok and not report.gaps else 'NOT intact'}")
    if report.signature is not None:
        echo(f"{'':11} signed (detached CMS) by {report.signature.signer} "
             f"({report.signature.organisation}); chain checked up to ky-so/test-root.pem")
    copy = out_dir / "tamper-copy.db"
    with sqlite3.connect(out_dir / "dossier.db") as source, sqlite3.connect(copy) as target:
        source.backup(target)
    with sqlite3.connect(copy) as tamper:
        tamper.execute("UPDATE dossiers SET paid_amount = 0 WHERE code = ?", (codes[0],))
    tampered = Engine(f"sqlite:///{copy}", clock=engine.clock, audit_key=engine.kernel.audit_keys)
    try:
        tampered.verify_audit(codes[0])
    except AuditError as exc:
        echo(f"{'':11} {codes[0]:<28} paid_amount set to 0 by SQL on a copy: verify_audit "
             f"names the field ({exc.field})")
    finally:
        tampered.close()
        for leftover in (copy, copy.with_name(copy.name + "-wal"),
                         copy.with_name(copy.name + "-shm")):
            leftover.unlink(missing_ok=True)


def _deadlines(demo: Demo, citizen: Actor, *, land_copy: str) -> list[str]:
    """Dossiers left open while the clock runs: warnings, overdue, an apology letter, a
    dossier sent by post, and a supplement request the applicant never answers (a building
    permit whose land paper is the certified copy dossier ``land_copy`` returned)."""
    engine, clock, echo = demo.engine, demo.clock, demo.out
    echo("== deadlines: dossiers left open while the timer worker sweeps each morning")
    clock.set(datetime(2025, 7, 2, 8, 0, tzinfo=LOCAL_TZ))
    clerk_p, clerk_c = demo.staff(Role.CLERK, PROVINCE), demo.staff(Role.CLERK, COMMUNE)
    leader_p = demo.staff(Role.LEADER, PROVINCE)
    late = demo.submit(CRIMINAL_RECORD, "Trịnh Văn N", clerk_p, "counter", PROVINCE, copies=1)
    late = demo.run_steps(late, until=State.PROCESSING)
    apology = demo.submit(CRIMINAL_RECORD, "Lý Thị P", citizen, "online", PROVINCE, copies=2)
    _queues(demo, late)
    apology = demo.run_steps(apology, until=State.PROCESSING)
    posted = demo.submit(CRIMINAL_RECORD, "Mai Văn Q", clerk_p, "post", PROVINCE, copies=1)
    posted = demo.fire(posted, "receive", clerk_p,
                       arrived_at=datetime(2025, 7, 1, 16, 30, tzinfo=LOCAL_TZ))
    posted = demo.run_steps(posted, until=State.PROCESSING)
    # Lê Văn C, whose copy was certified yesterday, applies for a building permit
    permit = demo.submit(BUILDING_PERMIT, "Lê Văn C", clerk_c, "counter", COMMUNE)
    demo.reuse(permit, "giay_to_dat", land_copy, clerk_c)
    permit = demo.run_steps(permit, until=State.PROCESSING)
    permit = demo.fire(permit, "request_supplement", demo.staff(Role.SPECIALIST, COMMUNE),
                       reason="Thiếu bản vẽ mặt bằng móng")

    assert engine.deployment is not None
    worker = Worker.from_settings(engine, engine.deployment.worker)
    day = datetime(2025, 7, 3, 8, 0, tzinfo=LOCAL_TZ)
    while day <= datetime(2025, 8, 5, 8, 0, tzinfo=LOCAL_TZ):
        clock.set(day)
        if day.date() == date(2025, 7, 15):
            extended = engine.extend(apology.code, actor=leader_p,
                                     reason="Cần xác minh thêm thông tin tại cơ quan công an",
                                     appointment_at=datetime(2025, 7, 21, 16, 0, tzinfo=LOCAL_TZ))
            echo(f"{day:%d/%m %H:%M}  {apology.code:<28} {'extend':<19} "
                 f"xin lỗi, hẹn lại {extended.deadlines.appointment_at:%H:%M %d/%m/%Y}")
        report = worker.sweep_once()
        if report is not None and report.total:
            echo(f"{day:%d/%m %H:%M}  worker sweep: {report}")
        if day.date() == date(2025, 7, 11):     # on time: before the 15/07 appointment
            posted = demo.run_steps(posted)
        if day.date() == date(2025, 7, 18):     # three days after its appointment
            late = demo.run_steps(late)
        if day.date() == date(2025, 7, 21):     # by the new appointment, late all the same
            apology = demo.run_steps(apology)
        day += timedelta(days=1)
    return [late.code, apology.code, posted.code, permit.code]


def _queues(demo: Demo, dossier: Dossier) -> None:
    """The province's work queues at one moment: the leader assigns a dossier (phân công),
    which then heads its officer's queue; the clerk's queue is what waits for reception."""
    engine, echo = demo.engine, demo.out
    leader = demo.staff(Role.LEADER, PROVINCE)
    specialist = demo.staff(Role.SPECIALIST, PROVINCE)
    demo.tick()
    engine.assign(dossier.code, specialist, actor=leader)
    echo(f"{demo.clock.now().astimezone(LOCAL_TZ):%d/%m %H:%M}  {dossier.code:<28} "
         f"{'assign':<19} {leader.id} giao cho {specialist.id}")
    for who in (demo.staff(Role.CLERK, PROVINCE), specialist):
        page = engine.queue(who, limit=10)
        echo(f"{'':11} work queue of {who.id} ({who.role.value}): {len(page.items)}")
        for item in page.items:
            mark = "*" if item.assigned else " "
            echo(f"{'':13}{mark} {item.dossier.code:<28} {item.dossier.state.value:<20} "
                 f"{item.remaining_text or 'chưa tiếp nhận'}")


def _circular_2025(demo: Demo) -> list[str]:
    """After 15/9/2025 the forms are Thông tư 03/2025/TT-VPCP's: a reception, then a leader
    stops the dossier (Thông báo dừng giải quyết hồ sơ, Mẫu 05)."""
    engine, clock, echo = demo.engine, demo.clock, demo.out
    echo("== 16/09/2025: Thông tư 03/2025/TT-VPCP in force: its forms from now on")
    clock.set(datetime(2025, 9, 16, 8, 0, tzinfo=LOCAL_TZ))
    clerk, leader = demo.staff(Role.CLERK, COMMUNE), demo.staff(Role.LEADER, COMMUNE)
    d = demo.submit(CERTIFICATION, "Hà Thị S", clerk, "counter", COMMUNE, pages=2)
    d = demo.fire(d, "receive", clerk)
    d = demo.fire(d, "stop", leader,
                  reason="Người yêu cầu chứng thực đề nghị dừng để bổ sung bản chính khác")
    kinds = [f"{doc.kind} ({doc.book})" for doc in engine.documents(d.code)
             if doc.kind.startswith("form-")]
    echo(f"{'':11} {d.code:<28} forms issued: {', '.join(kinds)}")
    return [d.code]


def _scan(name: str, at: datetime) -> bytes:
    """A stand-in for the scanner: a one-page PDF naming the original."""
    pdf = new_document(title=name, created_at=at)
    pdf.add_page()
    pdf.multi_cell(0, 8, f"{name}\n(bản chính, bản quét dùng cho bản demo)")
    return bytes(pdf.output())


def _summary(finals: list[Dossier], intact: int, events: list[Event],
             echo: Callable[[str], None]) -> None:
    by_state = Counter(d.state.value for d in finals)
    by_procedure = Counter(f"{d.procedure_code} v{d.procedure_version}" for d in finals)
    collected = sum(d.paid_amount for d in finals)
    echo("== summary")
    echo(f"dossiers: {len(finals)}  " + "  ".join(f"{k}: {v}" for k, v in sorted(
        by_state.items())))
    echo("by procedure version: " + "  ".join(f"{k}: {v}" for k, v in sorted(
        by_procedure.items())))
    echo(f"fees collected: {collected:,} VND".replace(",", "."))
    judged = Counter(d.deadlines.timeliness for d in finals if d.deadlines.timeliness)
    returned = sum(judged.values())
    in_time = judged["early"] + judged["on_time"]
    echo(f"returned on time: {in_time}/{returned} ({100 * in_time / max(returned, 1):.0f}%)  "
         + "  ".join(f"{TIMELINESS_LABELS[k].lower()}: {judged[k]}"
                     for k in ("early", "on_time", "late")))
    timers = Counter(e.trigger for e in events if e.actor == "system")
    echo(f"timer events: {timers['sla_warning']} warnings, {timers['overdue']} overdue, "
         f"{timers['refuse']} refused for hết hạn bổ sung")
    echo(f"audit chains intact: {intact}/{len(finals)}")
