"""Reads check who asks (issue 11): every read of a dossier takes ``actor=``; given, the party
rules of writes apply; left out, the caller is trusted server code."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from conftest import make_procedure
from finding_support import AGENCY, OTHER, staff

from dossier import Actor, Engine, PermissionDenied
from dossier.testing import FrozenClock, test_signer

SIGNED = make_procedure("9.900111", ["receive", "pay", "process", "sign", "return"],
                        fee=20_000, signing="digital")
OWNER = Actor(id="cd01", role="citizen")


@dataclass(frozen=True)
class Filed:
    """A dossier with something behind every read: a file, a payment and its receipt, a
    clock pause, a signed result."""

    code: str
    attachment: str
    document: str


@pytest.fixture
def filed(db_url: str, clock: FrozenClock) -> Iterator[tuple[Engine, Filed]]:
    engine = Engine(db_url, clock=clock, signers={"local": test_signer(clock)})
    engine.register(SIGNED)
    people = staff()
    code = engine.submit(SIGNED.code, applicant={"name": "Trần Thị Bình"}, channel="online",
                         actor=OWNER, agency=AGENCY).code
    attached = engine.attach(code, "to_khai", b"%PDF-1.7 to khai", "to-khai.pdf", actor=OWNER)
    engine.fire(code, "receive", actor=people["clerk"])
    engine.fire(code, "pay", actor=people["clerk"], amount=20_000)
    engine.fire(code, "request_supplement", actor=people["specialist"], reason="Thiếu")
    engine.fire(code, "supplement", actor=OWNER)
    engine.fire(code, "approve", actor=people["specialist"])
    engine.sign_result(code, actor=people["leader"], signer="local")
    document = engine.documents(code)[0].sha256
    yield engine, Filed(code=code, attachment=attached.sha256, document=document)
    engine.close()


Read = Callable[[Engine, Filed, Actor | None], Any]
READS: dict[str, Read] = {
    "get": lambda e, f, a: e.get(f.code, actor=a),
    "history": lambda e, f, a: e.history(f.code, actor=a),
    "attachments": lambda e, f, a: e.attachments(f.code, actor=a),
    "read_attachment": lambda e, f, a: e.read_attachment(f.code, f.attachment, actor=a),
    "clock_pauses": lambda e, f, a: e.clock_pauses(f.code, actor=a),
    "remaining_text": lambda e, f, a: e.remaining_text(f.code, actor=a),
    "payments": lambda e, f, a: e.payments(f.code, actor=a),
    "refunds": lambda e, f, a: e.refunds(f.code, actor=a),
    "receipts": lambda e, f, a: e.receipts(f.code, actor=a),
    "documents": lambda e, f, a: e.documents(f.code, actor=a),
    "read_document": lambda e, f, a: e.read_document(f.code, f.document, actor=a),
    "signature_requests": lambda e, f, a: e.signature_requests(f.code, actor=a),
}
REFUSED = {
    "staff of another agency": staff(OTHER)["clerk"],
    "a leader of another agency": staff(OTHER)["leader"],
    "another citizen": Actor(id="cd02", role="citizen"),
    "the system of another agency": Actor.system(OTHER),
}
ALLOWED = {
    "the owner": OWNER,
    "a specialist of the agency": staff()["specialist"],
    "the system": Actor.system(),
    "trusted server code": None,
}


@pytest.mark.parametrize("who", REFUSED)
def test_every_read_refuses_who_is_not_a_party(filed: tuple[Engine, Filed], who: str) -> None:
    engine, dossier = filed
    for name, read in READS.items():
        try:
            read(engine, dossier, REFUSED[who])
        except PermissionDenied:
            continue
        pytest.fail(f"{name} let {who} read the dossier")


@pytest.mark.parametrize("who", ALLOWED)
def test_every_read_answers_a_party_as_it_answers_trusted_code(
        filed: tuple[Engine, Filed], who: str) -> None:
    engine, dossier = filed
    for name, read in READS.items():
        assert read(engine, dossier, ALLOWED[who]) == read(engine, dossier, None), name
    assert engine.read_attachment(dossier.code, dossier.attachment, actor=ALLOWED[who]) \
        == b"%PDF-1.7 to khai"
    assert engine.receipts(dossier.code, actor=ALLOWED[who])[0].amount == 20_000
