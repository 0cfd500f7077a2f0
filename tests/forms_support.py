"""A small world for the forms tests and the gallery in ``docs/forms/``: a province and a
commune in the agency directory, staff with names and titles, a procedure with a fee, and a
way to issue every form of either circular."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from dossier import Actor, Engine
from dossier.agencies import Agency
from dossier.clock import LOCAL_TZ
from dossier.forms import FormSettings
from dossier.procedure import parse_procedure
from dossier.procedure.model import Procedure
from dossier.signing import LocalSigner
from dossier.signing.testpki import TEST_PASSPHRASE, TestPki
from dossier.testing import FrozenClock

PROVINCE = "000.00.00.H12"
COMMUNE = "000.00.12.H12"
APPLICANT = {"name": "Lê Thị Hồng Nhung", "id_number": "001090012345",
             "address": "Thôn Đông, xã Thử Nghiệm", "phone": "0912345678"}
#: 1 July 2025 (Thông tư 01/2018/TT-VPCP) and 16 September 2025 (Thông tư 03/2025/TT-VPCP)
BEFORE = datetime(2025, 7, 1, 8, 0, tzinfo=LOCAL_TZ)
AFTER = datetime(2025, 9, 16, 8, 0, tzinfo=LOCAL_TZ)


def agencies(*, seal: bool = False) -> list[Agency]:
    return [
        Agency(code=PROVINCE, name="Ủy ban nhân dân tỉnh Thử Nghiệm", level="province",
               place="Thử Nghiệm"),
        Agency(code=COMMUNE, name="Ủy ban nhân dân xã Thử Nghiệm",
               short_name="UBND xã Thử Nghiệm", parent=PROVINCE, place="Thử Nghiệm",
               address="Thôn Trung, xã Thử Nghiệm", tax_code="0101234567",
               signer="seal" if seal else None),
    ]


def procedure() -> Procedure:
    return parse_procedure({
        "code": "2.000815", "name": "Chứng thực bản sao từ bản chính", "field": "Chứng thực",
        "agency_level": "commune", "service_level": "partial_online", "version": "1",
        "effective_from": "2025-01-01", "legal_basis": ["Nghị định 23/2015/NĐ-CP"],
        "processing_time": {"amount": 2, "unit": "working_days"},
        "fee": {"kind": "flat", "name": "Lệ phí chứng thực bản sao", "amount": 10_000,
                "legal_basis": "Thông tư 226/2016/TT-BTC"},
        "components": [{"id": "ban_chinh", "name": "Bản chính giấy tờ", "form": "original"},
                       {"id": "to_khai", "name": "Tờ khai", "form": "copy",
                        "required": False}],
        "steps": [{"name": "receive", "role": "clerk"}, {"name": "pay", "role": "clerk"},
                  {"name": "process", "role": "specialist"},
                  {"name": "sign", "role": "leader"}, {"name": "return", "role": "clerk"}],
        "signing": "paper",
    }, "<forms>")[0]


@dataclass
class World:
    engine: Engine
    clock: FrozenClock
    clerk: Actor
    leader: Actor
    specialist: Actor

    def submit(self) -> str:
        return self.engine.submit("2.000815", applicant=APPLICANT, channel="counter",
                                  actor=self.clerk).code

    def received(self) -> str:
        code = self.submit()
        self.engine.fire(code, "receive", actor=self.clerk)
        return code


def world(at: datetime, *, pki: TestPki | None = None, directory: bool = True,
          settings: FormSettings | None = None) -> World:
    clock = FrozenClock(at)
    signers = {}
    if pki is not None:
        signers["seal"] = LocalSigner.from_pkcs12(pki.pkcs12(pki.signer), TEST_PASSPHRASE,
                                                  clock=clock)
    engine = Engine.in_memory(clock=clock, signers=signers,
                              agencies=agencies(seal=pki is not None) if directory else None,
                              form_settings=settings)
    engine.register(procedure())
    return World(engine=engine, clock=clock,
                 clerk=Actor("nv01", "clerk", COMMUNE, name="Nguyễn Thị Lan",
                             title="Công chức Bộ phận Một cửa"),
                 leader=Actor("ld01", "leader", COMMUNE, name="Trần Văn Bình",
                              title="Phó Chủ tịch"),
                 specialist=Actor("cv01", "specialist", COMMUNE, name="Phạm Văn Hùng"))


def every_form(w: World) -> dict[str, bytes]:
    """Every form of the circular in force on ``w``'s clock, by kind: issued ones as stored,
    the control sheet and the tracking book rendered."""
    engine, clerk, leader = w.engine, w.clerk, w.leader
    first = w.submit()
    engine.fire(first, "request_supplement", actor=clerk, reason="Thiếu bản chính",
                components=["ban_chinh"])
    engine.fire(first, "refuse", actor=clerk, reason="Giấy tờ không đủ điều kiện chứng thực")
    late = w.received()
    engine.fire(late, "pay", actor=clerk, amount=10_000)
    engine.extend(late, actor=leader, reason="Cần xác minh thêm",
                  appointment_at=w.clock.now().replace(day=w.clock.now().day + 7))
    engine.fire(late, "stop", actor=leader, reason="Người yêu cầu đề nghị dừng")
    found = {d.kind: engine.read_document(code, d.sha256)
             for code in (first, late) for d in engine.documents(code)
             if d.kind.startswith("form-")}
    control = "form-06" if w.clock.now() >= AFTER else "form-05"
    found[control] = engine.render_form(late, control)
    book = "form-07" if w.clock.now() >= AFTER else "form-06"
    day = w.clock.now().date()
    found[book] = engine.tracking_book(COMMUNE, date(day.year, day.month, 1), day)
    return found


def text_of(pdf: bytes, tmp_path: Path, *options: str) -> str:
    path = tmp_path / "form.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", *options, str(path), "-"], capture_output=True,
                          text=True, check=True).stdout
