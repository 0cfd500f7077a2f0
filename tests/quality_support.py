"""A small province of hand-made dossiers whose QĐ 766 indicators are worked out by hand
(see ``test_quality_report.py`` for the figures), shared by the quality tests."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from conftest import make_procedure

from dossier import Actor, Dossier, Engine, ReuseKind, ReuseSource
from dossier.agencies import Agency, AgencyDirectory
from dossier.clock import LOCAL_TZ
from dossier.testing import FrozenClock, test_signer

PROVINCE, COMMUNE_1, COMMUNE_2, OTHER = ("000.00.05.H12", "000.00.12.H12", "000.00.13.H12",
                                          "000.00.99.H12")
FULL, PARTIAL, OFFLINE, SIGNED = "1.000001", "1.000002", "1.000003", "1.000004"
SCAN = b"%PDF-1.4 scan of the original\n"
#: the same document, taken from the citizen's data store (kho dữ liệu) instead of scanned
FROM_DATA_STORE = ReuseSource(kind=ReuseKind.DATA_STORE, reference="KDL-0001",
                              sha256=hashlib.sha256(SCAN).hexdigest())


def directory() -> AgencyDirectory:
    """A province with two communes under it, and an unrelated agency."""
    return AgencyDirectory([
        Agency(code=PROVINCE, name="Sở Tư pháp tỉnh Thử", level="department"),
        Agency(code=COMMUNE_1, name="UBND xã Một", parent=PROVINCE),
        Agency(code=COMMUNE_2, name="UBND xã Hai", parent=PROVINCE),
        Agency(code=OTHER, name="UBND xã Khác")])


def register(engine: Engine) -> None:
    engine.register(make_procedure(FULL, ["receive", "process", "return"],
                                   service_level="full_online"))
    engine.register(make_procedure(PARTIAL, ["receive", "pay", "process", "return"],
                                   service_level="partial_online", fee=50_000))
    engine.register(make_procedure(OFFLINE, ["receive", "digitise", "certify", "return"],
                                   service_level="offline"))
    engine.register(make_procedure(SIGNED, ["receive", "process", "sign", "return"],
                                   service_level="offline", signing="digital"))


def staff(role: str, agency: str) -> Actor:
    return Actor(id=f"{role}-{agency[-6:-4]}", role=role, agency=agency)


def at(day: int, month: int = 9, hour: int = 9) -> datetime:
    return datetime(2025, month, day, hour, 0, tzinfo=LOCAL_TZ)


@dataclass
class Province:
    """The dossiers by name (d1 … d11, as the figures in the tests call them)."""

    engine: Engine
    clock: FrozenClock
    d: dict[str, Dossier] = field(default_factory=dict)

    def run(self, name: str, *steps: str) -> Dossier:
        """Fire ``steps`` on dossier ``name``, each by the role that does it."""
        engine, dossier = self.engine, self.d[name]
        agency = dossier.agency
        for trigger in steps:
            if trigger == "pay":
                method = "transfer" if dossier.channel == "online" else "cash"
                dossier = engine.fire(dossier.code, "pay", actor=staff("clerk", agency),
                                      amount=dossier.fee_due, method=method)
            elif trigger == "sign":
                engine.sign_result(dossier.code, actor=staff("leader", agency), signer="test")
                dossier = engine.get(dossier.code)
            else:
                role = {"approve": "specialist", "certify": "certifier"}.get(trigger, "clerk")
                extra = {"method": "counter"} if trigger == "return_result" else {}
                dossier = engine.fire(dossier.code, trigger, actor=staff(role, agency),
                                      **extra)
        self.d[name] = dossier
        return dossier

    def submit(self, name: str, procedure: str, agency: str, channel: str,
               owner: str = "cd01") -> Dossier:
        actor = Actor(id=owner, role="citizen") if channel == "online" \
            else staff("clerk", agency)
        self.d[name] = self.engine.submit(procedure, applicant={"name": f"Công dân {name}"},
                                          channel=channel, actor=actor, agency=agency)
        return self.d[name]


def build(engine: Engine, clock: FrozenClock) -> Province:
    """The dossiers of September 2025 (received on Monday 8/9, due 10 working days later,
    on 22/9) and one of October. Figures by hand in ``test_quality_report.py``."""
    register(engine)
    p = Province(engine, clock)
    clock.set(at(8))
    p.submit("d1", FULL, COMMUNE_1, "online")
    p.run("d1", "receive", "approve", "return_result")                    # early
    engine.rate(p.d["d1"].code, actor=Actor(id="cd01", role="citizen"), level=3)
    p.submit("d2", FULL, COMMUNE_1, "counter")
    p.run("d2", "receive")
    p.submit("d3", PARTIAL, COMMUNE_1, "online", owner="cd02")
    p.run("d3", "receive", "pay")                                         # paid by transfer
    p.submit("d4", PARTIAL, COMMUNE_1, "counter")
    p.run("d4", "receive", "pay")
    p.submit("d5", PARTIAL, COMMUNE_2, "counter")
    p.run("d5", "receive")                                                # awaiting payment
    p.submit("d6", OFFLINE, COMMUNE_2, "counter")
    engine.attach(p.d["d6"].code, "ban_chinh", SCAN, "ban-chinh.pdf",
                  actor=staff("clerk", COMMUNE_2))
    p.run("d6", "receive", "digitise", "certify", "return_result")        # early
    p.submit("d7", FULL, OTHER, "online", owner="cd03")
    p.run("d7", "receive", "approve", "return_result")                    # early, unrated
    p.submit("d10", SIGNED, COMMUNE_1, "counter")
    p.run("d10", "receive", "approve", "sign", "return_result")           # early, e-result
    p.submit("d11", OFFLINE, COMMUNE_2, "counter")
    engine.attach(p.d["d11"].code, "ban_chinh", SCAN, "ban-chinh.pdf",   # not scanned again
                  actor=staff("clerk", COMMUNE_2), reused_from=FROM_DATA_STORE)
    clock.set(at(22, hour=10))
    p.run("d4", "approve", "return_result")                               # on the due date
    clock.set(at(25, hour=10))
    p.run("d2", "approve", "return_result")                               # late
    engine.rate(p.d["d2"].code, actor=staff("clerk", COMMUNE_1), level="Không hài lòng")
    clock.set(at(2, month=10))
    p.submit("d9", FULL, COMMUNE_1, "counter")                            # after the period
    return p


def signers(clock: FrozenClock) -> dict[str, object]:
    return {"test": test_signer(clock)}
