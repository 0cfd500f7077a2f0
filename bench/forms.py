"""What a form costs a ``receive``, on SQLite (median of ``--n`` receptions):

* the **transaction** of the event (``kernel.fire`` in one write transaction: the form is
  numbered there, the write lock is held that long);
* the whole **``engine.fire``**, which also makes the form after the commit: with a renderer
  returning a fixed PDF (the baseline), with the shipped templates, and sealed with a local
  key.

Run ``python bench/forms.py [--n 30]``; see ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent / "tests"))

from forms_support import AFTER, APPLICANT, COMMUNE, agencies, procedure  # noqa: E402

from dossier import Actor, Engine  # noqa: E402
from dossier.documents.base import FormSheet  # noqa: E402
from dossier.signing import LocalSigner  # noqa: E402
from dossier.signing.testpki import TEST_PASSPHRASE, build_test_pki  # noqa: E402
from dossier.testing import FrozenClock, scanned_pdf  # noqa: E402

FIXED = scanned_pdf("Bản cố định")


class Fixed:
    """A renderer that lays nothing out: the baseline."""

    def pdf(self, sheet: FormSheet) -> bytes:
        return FIXED

    def html(self, sheet: FormSheet) -> str:
        return ""


def median_receive(n: int, *, seal: bool, fixed: bool, transaction_only: bool = False) -> float:
    clock = FrozenClock(AFTER)
    signers = {}
    if seal:
        pki = build_test_pki(clock)
        signers["seal"] = LocalSigner.from_pkcs12(pki.pkcs12(pki.signer), TEST_PASSPHRASE,
                                                  clock=clock)
    clerk = Actor("nv01", "clerk", COMMUNE, name="Nguyễn Thị Lan")
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine(f"sqlite:///{tmp}/bench.db", clock=clock, signers=signers,
                        agencies=agencies(seal=seal), forms=Fixed() if fixed else None,
                        audit_key=b"k" * 32)
        engine.register(procedure())
        codes = [engine.submit("2.000815", applicant=APPLICANT, channel="counter",
                               actor=clerk).code for _ in range(n + 3)]
        times = []
        kernel = engine.kernel
        for code in codes:
            start = time.perf_counter()
            if transaction_only:
                with kernel.transaction() as tx:
                    kernel.fire(tx, code, "receive", clerk, {}, now=kernel.now())
            else:
                engine.fire(code, "receive", actor=clerk)
            times.append(time.perf_counter() - start)
        engine.close()
    return statistics.median(times[3:]) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=30)
    n = parser.parse_args().n
    held = median_receive(n, seal=True, fixed=False, transaction_only=True)
    base = median_receive(n, seal=False, fixed=True)
    shipped = median_receive(n, seal=False, fixed=False)
    sealed = median_receive(n, seal=True, fixed=False)
    print(f"receive transaction (form numbered):    {held:6.1f} ms")
    print(f"engine.fire receive, fixed PDF:         {base:6.1f} ms")
    print(f"engine.fire receive, form 01 rendered:  {shipped:6.1f} ms")
    print(f"engine.fire receive, rendered + sealed: {sealed:6.1f} ms")
    print(f"Python {sys.version.split()[0]}, {datetime.now().astimezone():%Y-%m-%d}")


if __name__ == "__main__":
    main()
