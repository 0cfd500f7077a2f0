"""What does a dossier's whole lifecycle cost through ``Engine``, next to the same writes by hand?

Run ``python bench/transitions.py [--per-round 100] [--rounds 7]`` (``--quick`` for fewer).
The procedure is the sample *Cấp Phiếu lý lịch tư pháp* (``ly-lich-tu-phap.toml``): a fee of
200,000 VND and a digitally signed result. Each dossier, submitted beforehand (not timed),
goes through its five steps, each one call and one transaction:

=============  ===============================================================================
receive        ``fire(code, "receive")``: the clock starts, deadlines on the agency's calendar
pay            ``fire(code, "pay", method="cash", amount=200000)``: payment, receipt number,
               callback record; then the receipt's document (Jinja2) in a second transaction
approve        ``fire(code, "approve")`` by the specialist
sign           ``sign_result(code, signer=…, document=…)`` with a signer that hands back a
               result signed beforehand: the signature itself (≈11 ms, see
               ``bench/signing.py``) is **not** in this figure; the engine's checks, the PDF
               check, the blob, the document row and the ``sign`` event are
return_result  ``fire(code, "return_result")``
=============  ===============================================================================

The baseline is :mod:`bench.raw` on Python's ``sqlite3`` (same tables, same WAL settings):
the same writes, none of the checks. Each *round* runs ``--per-round`` lifecycles on each
side, in an order that turns around every round, on SQLite files in a temp directory
(``TMPDIR=/dev/shm`` for a RAM disk). It prints each step's median time per side and the
median of the per-round ratios raw/engine (the share of raw speed the engine keeps; target
≥ 0.20 for the whole lifecycle) with their spread. Every audit chain is verified at the end.
Speed is never asserted by the test suite: this script reports.
"""

from __future__ import annotations

import argparse
import platform
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Run as a script, this file's folder comes first on sys.path, and this file's name would
# shadow the `transitions` package the engine imports: take the folder off the path, and put
# the project root on it (for `bench.*`).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
if str(_HERE.parent) not in sys.path:
    sys.path.insert(0, str(_HERE.parent))

from bench import pairs  # noqa: E402
from bench.raw import STEPS, RawLifecycle  # noqa: E402
from dossier import Actor, Engine, sample_path  # noqa: E402
from dossier.forms import FormSettings  # noqa: E402
from dossier.payments.receipt import IssuedReceipt, Receipt, render_receipt  # noqa: E402
from dossier.procedure import load_procedure  # noqa: E402
from dossier.signing.base import SignRequest, Ticket  # noqa: E402

PROCEDURE = "ly-lich-tu-phap.toml"
CODE = "3.000333"
AGENCY = "000.00.05.H12"
FEE = 200_000
APPLICANT = {"name": "Nguyễn Văn A", "id_number": "001090012345"}
TARGET = 0.20


class PresignedSigner:
    """Hands back the document it is given, already signed, with a line naming the dossier
    (so that every result is its own blob): the engine's side of ``sign`` without the
    signature's own cost."""

    provider = "presigned"

    def sign(self, pdf: bytes, request: SignRequest) -> bytes | Ticket:
        return pdf + f"%{request.dossier_code}\n".encode()

    def poll(self, ticket: Ticket) -> Any:
        raise NotImplementedError


class PrerenderedReceipts:
    """The local issuer's HTML, rendered for the first receipt and handed back for every
    one, with no PDF: the engine's side of issuing a receipt (numbering, storing) without the
    rendering, as the raw side stores the same HTML (rendering a receipt's PDF costs tens of
    milliseconds; bench/forms.py measures what rendering costs)."""

    def __init__(self) -> None:
        self._html: str | None = None

    def issue(self, receipt: Receipt) -> IssuedReceipt:
        if self._html is None:
            self._html = render_receipt(receipt)
        return IssuedReceipt(receipt=receipt, html=self._html, issuer="local")


def signed_result() -> bytes:
    """A one-page result signed once by a local key (the test PKI): the bytes stored."""
    from dossier.documents.pdf import render_result
    from dossier.signing import LocalSigner
    from dossier.signing.testpki import TEST_PASSPHRASE, shared_test_pki

    pki = shared_test_pki()
    signer = LocalSigner.from_pkcs12(pki.pkcs12(pki.signer), TEST_PASSPHRASE)
    pdf = render_result(dossier_code="H12.22-250908-0001", procedure_name="Cấp Phiếu lý lịch "
                        "tư pháp", applicant_name="Nguyễn Văn A", agency="Sở Tư pháp",
                        decided_at=datetime(2025, 9, 8, 2, 0, tzinfo=UTC))
    signed = signer.sign(pdf, SignRequest(dossier_code="H12.22-250908-0001"))
    assert isinstance(signed, bytes)
    return signed


def url_of(where: Path | str) -> str:
    return where if isinstance(where, str) else f"sqlite:///{where}"


def _setup(where: Path | str, dossiers: int, audit_key: str | None = None,
           **options: Any) -> tuple[Engine, list[str]]:
    """An engine on ``where`` (a SQLite file or a URL) with ``dossiers`` submitted dossiers
    awaiting reception; ``options`` go to :class:`Engine` (``bench/outbox.py`` passes
    ``sinks``)."""
    options.setdefault("signers", {"presigned": PresignedSigner()})
    options.setdefault("receipt_issuer", PrerenderedReceipts())
    # form 01's number is taken in the receive transaction, as in production; making its PDF
    # (≈70 ms, bench/forms.py) is left to the worker, as an API process would
    options.setdefault("form_settings", FormSettings(at_fire=False))
    engine = Engine(url_of(where), audit_key=audit_key, **options)
    engine.register(load_procedure(sample_path(PROCEDURE)))
    return engine, submit(engine, dossiers)


def submit(engine: Engine, count: int) -> list[str]:
    clerk = Actor(id="nv01", role="clerk", agency=AGENCY)
    return [engine.submit(CODE, applicant=APPLICANT, channel="counter", actor=clerk).code
            for _ in range(count)]


class EngineLifecycle:
    """Runs :data:`~bench.raw.STEPS` through an engine, timing each step."""

    def __init__(self, engine: Engine, signed_pdf: bytes) -> None:
        clerk = Actor(id="nv01", role="clerk", agency=AGENCY)
        specialist = Actor(id="cv01", role="specialist", agency=AGENCY)
        leader = Actor(id="ld01", role="leader", agency=AGENCY)
        fire = engine.fire
        self.steps: list[tuple[str, Callable[[str], object]]] = [
            ("receive", lambda code: fire(code, "receive", actor=clerk)),
            ("pay", lambda code: fire(code, "pay", actor=clerk, method="cash", amount=FEE)),
            ("approve", lambda code: fire(code, "approve", actor=specialist)),
            ("sign", lambda code: engine.sign_result(code, actor=leader, signer="presigned",
                                                     document=signed_pdf)),
            ("return_result", lambda code: fire(code, "return_result", actor=clerk)),
        ]
        assert [name for name, _ in self.steps] == list(STEPS)

    def run(self, codes: Sequence[str], clock: Callable[[], float]) -> dict[str, float]:
        spent = dict.fromkeys(STEPS, 0.0)
        for code in codes:
            for name, step in self.steps:
                began = clock()
                step(code)
                spent[name] += clock() - began
        return spent


def receipt_html(engine: Engine, code: str) -> str:
    """The receipt document the engine issued for ``code`` (the raw side writes its size)."""
    with engine.kernel.transaction(write=False) as tx:
        row = tx.one("SELECT r.html FROM receipts r JOIN dossiers d ON d.id = r.dossier_id"
                     " WHERE d.code = ?", (code,))
    return str(row[0])


def compare(engine_side: Callable[[Sequence[str]], dict[str, float]],
            raw_side: Callable[[Sequence[str]], dict[str, float]],
            engine_codes: list[str], raw_codes: list[str], per_round: int,
            rounds: int) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Interleaved rounds; per side and step (and ``total``), the seconds of each round."""
    batches = {"engine": iter(engine_codes[i:i + per_round]
                              for i in range(0, len(engine_codes), per_round)),
               "raw": iter(raw_codes[i:i + per_round]
                           for i in range(0, len(raw_codes), per_round))}
    timings: dict[str, dict[str, list[float]]] = {
        side: {step: [] for step in (*STEPS, "total")} for side in batches}
    sides = {"engine": engine_side, "raw": raw_side}

    def runner(side: str) -> Callable[[], float]:
        def run() -> float:
            spent = sides[side](next(batches[side]))
            for step, seconds in spent.items():
                timings[side][step].append(seconds)
            total = sum(spent.values())
            timings[side]["total"].append(total)
            return total
        return run

    pairs.rounds([("engine", runner("engine")), ("raw", runner("raw"))], rounds)
    return timings["engine"], timings["raw"]


def report(engine: dict[str, list[float]], raw: dict[str, list[float]], per_round: int,
           where: str) -> pairs.Ratios:
    """Print the per-step table; return the whole lifecycle's ratios raw/engine."""
    print(f"{'step':<14} {'engine µs':>10} {'raw µs':>8}   raw/engine: median of pairs (spread)")
    for step in (*STEPS, "total"):
        ratio = pairs.ratios(raw[step], engine[step])
        print(f"{step:<14} {pairs.median(engine[step]) / per_round * 1e6:>10,.0f} "
              f"{pairs.median(raw[step]) / per_round * 1e6:>8,.0f}   {ratio}")
    total = pairs.ratios(raw["total"], engine["total"])
    print(pairs.line(f"lifecycle raw/engine ({where})", total, target=TARGET))
    return total


def run(per_round: int, rounds: int, *, directory: str | None = None,
        profile: bool = False) -> pairs.Figure:
    print(f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
          f"{platform.machine()}; {rounds} rounds of {per_round} lifecycles per side")
    signed = signed_result()
    count = per_round * (rounds + 1)
    with tempfile.TemporaryDirectory(prefix="dossier-bench-", dir=directory) as tmp:
        engine, engine_codes = _setup(Path(tmp) / "engine.db", count)
        raw_setup, raw_codes = _setup(Path(tmp) / "raw.db", count)
        # the raw side writes a receipt document of the size the engine makes
        EngineLifecycle(raw_setup, signed).run(raw_codes[:1], time.perf_counter)
        html = receipt_html(raw_setup, raw_codes[0])
        raw_setup.close()
        conn = sqlite3.connect(Path(tmp) / "raw.db", isolation_level=None,
                               check_same_thread=False)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON",
                       "busy_timeout=10000"):
            conn.execute(f"PRAGMA {pragma}")
        raw = RawLifecycle(conn, postgres=False, signed_pdf=signed, receipt_html=html)
        ours = EngineLifecycle(engine, signed)
        # a warm-up round each (not counted), then the interleaved rounds
        ours.run(engine_codes[:per_round], time.perf_counter)
        raw.run(raw_codes[1:per_round], time.perf_counter)
        timings = compare(lambda c: ours.run(c, time.perf_counter),
                          lambda c: raw.run(c, time.perf_counter),
                          engine_codes[per_round:], raw_codes[per_round:], per_round, rounds)
        where = "RAM disk" if tmp.startswith("/dev/shm") else f"files in {Path(tmp).parent}"
        total = report(*timings, per_round, where)
        if profile:
            import cProfile
            import pstats

            extra = submit(engine, per_round)
            profiler = cProfile.Profile()
            profiler.runcall(ours.run, extra, time.perf_counter)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
        ok = all(engine.verify_audit(code) for code in engine_codes)
        print(f"audit chains verified: {ok}")
        engine.close()
        conn.close()
    return pairs.Figure("transitions", "lifecycle raw/engine, SQLite", total, TARGET)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--per-round", type=int, default=100,
                        help="lifecycles per side and round")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds")
    parser.add_argument("--quick", action="store_true", help="--per-round 40 --rounds 5")
    parser.add_argument("--profile", action="store_true",
                        help="also print a cProfile of one more engine round")
    args = parser.parse_args(argv)
    if args.quick:
        args.per_round, args.rounds = 40, 5
    run(args.per_round, args.rounds, profile=args.profile)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
