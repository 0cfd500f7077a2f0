"""How fast does ``LocalSigner`` sign, next to stock pyHanko with the same key?

Run ``python bench/signing.py [--n 50] [--rounds 3]``. Both sides sign the same one-page
result PDF (rendered from ``templates/ket-qua.html.j2``) ``--n`` times with the same RSA-2048
key, read from the same PKCS#12 file, each with a PAdES B-B signature (SHA-256, subfilter
``ETSI.CAdES.detached``) in a new invisible field:

* **LocalSigner** — ``signer.sign(pdf, SignRequest(visible=False))``, the signer made once.
* **stock pyHanko** — what a program calling pyHanko per document does:
  ``SimpleSigner.load_pkcs12(path, passphrase)`` then
  ``signers.sign_pdf(IncrementalPdfFileWriter(...), PdfSignatureMetadata(...), signer=...)``.

Each side is warmed up, then timed for ``--rounds`` rounds of ``--n`` signatures; the best round
counts. The last line is the ratio LocalSigner/stock of the time per signature (target <=
0.15). Every output is checked with ``dossier.signing.verify`` after timing. Also printed, for
information, the time of a LocalSigner signature with its visible stamp (font subsetting and
the QR code). Speed is never asserted by the test suite: this script reports.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, and bench/transitions.py would
# shadow the `transitions` package the engine imports: take the folder off the path.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from importlib.metadata import version  # noqa: E402  (email → calendar: after the path fix)

import cryptography  # noqa: E402
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter  # noqa: E402
from pyhanko.sign import fields, signers  # noqa: E402

from dossier.documents.pdf import render_result  # noqa: E402
from dossier.signing import LocalSigner, SignRequest, verify  # noqa: E402
from dossier.signing.testpki import TEST_PASSPHRASE, shared_test_pki  # noqa: E402


def one_page_pdf() -> bytes:
    return render_result(dossier_code="H12.22-250908-0001",
                         procedure_name="Chứng thực bản sao từ bản chính",
                         applicant_name="Nguyễn Văn A", agency="UBND xã Thử Nghiệm",
                         decided_at=datetime(2025, 9, 8, 2, 0, tzinfo=UTC))


def best_time(run: Callable[[int], list[bytes]], n: int, rounds: int,
              warmup: int) -> tuple[float, list[bytes]]:
    """Best seconds per signature over ``rounds`` rounds, and the last round's outputs."""
    run(warmup)
    best, outputs = float("inf"), []
    for _ in range(rounds):
        started = time.perf_counter()
        outputs = run(n)
        best = min(best, (time.perf_counter() - started) / n)
    return best, outputs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=50, help="signatures per round")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds (best counts)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed signatures first")
    args = parser.parse_args(argv)
    print(f"Python {platform.python_version()}, pyHanko {version('pyhanko')}, "
          f"cryptography {cryptography.__version__}, {platform.machine()}")
    print(f"{args.n} PAdES B-B signatures per round of a 1-page PDF, RSA-2048, best of "
          f"{args.rounds} rounds after a warm-up")
    pki = shared_test_pki()
    pdf = one_page_pdf()
    with tempfile.TemporaryDirectory(prefix="dossier-bench-") as tmp:
        p12 = Path(tmp) / "signer.p12"
        p12.write_bytes(pki.pkcs12(pki.signer))

        ours = LocalSigner.from_pkcs12(p12, TEST_PASSPHRASE)
        invisible = SignRequest(visible=False)
        visible = SignRequest(dossier_code="H12.22-250908-0001")
        meta = signers.PdfSignatureMetadata(field_name="ChuKySo1", md_algorithm="sha256",
                                            subfilter=fields.SigSeedSubFilter.PADES)

        def local(n: int, request: SignRequest = invisible) -> list[bytes]:
            return [ours.sign(pdf, request) for _ in range(n)]

        def stock(n: int) -> list[bytes]:
            out = []
            for _ in range(n):
                signer = signers.SimpleSigner.load_pkcs12(str(p12), passphrase=TEST_PASSPHRASE)
                written = signers.sign_pdf(IncrementalPdfFileWriter(BytesIO(pdf)), meta,
                                           signer=signer)
                out.append(written.getvalue())
            return out

        local_time, local_out = best_time(local, args.n, args.rounds, args.warmup)
        stock_time, stock_out = best_time(stock, args.n, args.rounds, args.warmup)
        stamped_time, stamped_out = best_time(lambda n: local(n, visible),
                                              max(1, args.n // 5), 1, 1)
    checked = [*local_out[:3], *stock_out[:3], *stamped_out[:1]]
    ok = all(r.ok for pdf_ in checked for r in verify(pdf_, [pki.root.cert]))
    print(f"LocalSigner         : {local_time * 1e3:7.2f} ms per signature")
    print(f"stock pyHanko       : {stock_time * 1e3:7.2f} ms per signature "
          "(load_pkcs12 + sign_pdf)")
    print(f"LocalSigner, stamped: {stamped_time * 1e3:7.2f} ms per signature "
          "(visible stamp with font and QR code; for information)")
    print(f"ratio LocalSigner/stock: {local_time / stock_time:.3f} (target <= 0.15); "
          f"outputs verified: {ok}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
