"""How fast does ``LocalSigner`` sign, next to stock pyHanko with the same key, and what does
the visible stamp add?

Run ``python bench/signing.py [--n 20] [--rounds 7]`` (``--quick`` for fewer). Every side signs
the same one-page result PDF (rendered from ``templates/ket-qua.html.j2``) ``--n`` times per
round with the same RSA-2048 key, from the same PKCS#12 file, with a PAdES B-B signature
(SHA-256, ``ETSI.CAdES.detached``) in a new field:

* **LocalSigner** — ``signer.sign(pdf, SignRequest(visible=False))``, the signer made once;
* **LocalSigner, stamped** — the same with the visible stamp (signer, agency, time, QR code);
* **stock, key loaded once** — ``signers.sign_pdf(IncrementalPdfFileWriter(...),
  PdfSignatureMetadata(...), signer=...)`` with one ``SimpleSigner.load_pkcs12`` made before:
  what a service calling pyHanko does;
* **stock, key loaded per document** — ``load_pkcs12`` then ``sign_pdf`` for every document:
  what a script calling pyHanko per file does (shown apart; not a target).

The sides run in interleaved rounds (the order turns around each round) after a warm-up
round each; the figures are medians of per-round ratios with their spread: LocalSigner /
stock with the key loaded once (target ≤ 0.15) and stamped / invisible (target ≤ 2). The
first stamp of a process prepares the font subset once (timed apart). Outputs are checked
with ``dossier.signing.verify``. Speed is never asserted by the test suite: this script
reports.
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
if str(_HERE.parent) not in sys.path:
    sys.path.insert(0, str(_HERE.parent))

from importlib.metadata import version  # noqa: E402  (email → calendar: after the path fix)

import cryptography  # noqa: E402
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter  # noqa: E402
from pyhanko.sign import fields, signers  # noqa: E402

from bench import pairs  # noqa: E402
from dossier.documents.pdf import render_result  # noqa: E402
from dossier.resources import font_path  # noqa: E402
from dossier.signing import LocalSigner, SignRequest, verify  # noqa: E402

try:  # (absent before the prepared subset: the bench also runs against older checkouts)
    from dossier.signing.stampfont import prepare as prepare_stamp_font
except ImportError:  # pragma: no cover
    prepare_stamp_font = None  # type: ignore[assignment]
from dossier.signing.testpki import TEST_PASSPHRASE, shared_test_pki  # noqa: E402

TARGET_STOCK, TARGET_STAMP = 0.15, 2.0


def one_page_pdf() -> bytes:
    return render_result(dossier_code="H12.22-250908-0001",
                         procedure_name="Chứng thực bản sao từ bản chính",
                         applicant_name="Nguyễn Văn A", agency="UBND xã Thử Nghiệm",
                         decided_at=datetime(2025, 9, 8, 2, 0, tzinfo=UTC))


def run(n: int, rounds: int) -> list[pairs.Figure]:
    print(f"Python {platform.python_version()}, pyHanko {version('pyhanko')}, "
          f"cryptography {cryptography.__version__}, {platform.machine()}")
    print(f"{n} PAdES B-B signatures per side and round of a 1-page PDF, RSA-2048, "
          f"{rounds} interleaved rounds after a warm-up")
    pki = shared_test_pki()
    pdf = one_page_pdf()
    prepared = None
    if prepare_stamp_font is not None:
        font = font_path("regular").read_bytes()
        prepare_stamp_font.cache_clear()
        began = time.perf_counter()
        prepare_stamp_font(font)
        prepared = time.perf_counter() - began
    outputs: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory(prefix="dossier-bench-") as tmp:
        p12 = Path(tmp) / "signer.p12"
        p12.write_bytes(pki.pkcs12(pki.signer))
        ours = LocalSigner.from_pkcs12(p12, TEST_PASSPHRASE)
        invisible = SignRequest(visible=False)
        visible = SignRequest(dossier_code="H12.22-250908-0001")
        meta = signers.PdfSignatureMetadata(field_name="ChuKySo1", md_algorithm="sha256",
                                            subfilter=fields.SigSeedSubFilter.PADES)
        loaded = signers.SimpleSigner.load_pkcs12(str(p12), passphrase=TEST_PASSPHRASE)
        assert loaded is not None

        def stock(signer: signers.Signer | None) -> bytes:
            key = signer or signers.SimpleSigner.load_pkcs12(str(p12), passphrase=TEST_PASSPHRASE)
            assert key is not None
            return signers.sign_pdf(IncrementalPdfFileWriter(BytesIO(pdf)), meta,
                                    signer=key).getvalue()

        sides: dict[str, Callable[[], bytes]] = {
            "local": lambda: ours.sign(pdf, invisible),
            "stamped": lambda: ours.sign(pdf, visible),
            "stock once": lambda: stock(loaded),
            "stock reload": lambda: stock(None),
        }

        def timed(name: str) -> Callable[[], float]:
            def run_side() -> float:
                began = time.perf_counter()
                for _ in range(n):
                    outputs[name] = sides[name]()
                return (time.perf_counter() - began) / n
            return run_side

        for name in sides:
            timed(name)()  # warm-up
        runs = pairs.rounds([(name, timed(name)) for name in sides], rounds)
    trust = [pki.root.cert]
    ok = all(r.ok for out in outputs.values() for r in verify(out, trust))
    for name, label in (("local", "LocalSigner"), ("stamped", "LocalSigner, stamped"),
                        ("stock once", "stock, key loaded once"),
                        ("stock reload", "stock, key loaded per document")):
        print(f"{label:<31} {pairs.median(runs[name]) * 1e3:7.2f} ms per signature")
    if prepared is not None:
        print(f"font subset for stamps, prepared once per process: {prepared * 1e3:.0f} ms")
    stock_ratio = pairs.ratios(runs["local"], runs["stock once"])
    stamp_ratio = pairs.ratios(runs["stamped"], runs["local"])
    print(f"LocalSigner / stock, key loaded per document (for information): "
          f"{pairs.ratios(runs['local'], runs['stock reload'])}")
    print(pairs.line("LocalSigner / stock, key loaded once", stock_ratio, target=TARGET_STOCK,
                     at_most=True))
    print(pairs.line("stamped / invisible", stamp_ratio, target=TARGET_STAMP, at_most=True))
    print(f"outputs verified: {ok}")
    if not ok:
        raise SystemExit("a signature did not verify")
    return [pairs.Figure("signing", "LocalSigner / stock (key once)", stock_ratio,
                         TARGET_STOCK, at_most=True),
            pairs.Figure("signing", "stamped / invisible", stamp_ratio, TARGET_STAMP,
                         at_most=True)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=20, help="signatures per side and round")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds")
    parser.add_argument("--quick", action="store_true", help="--n 6 --rounds 5")
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.rounds = 6, 5
    run(args.n, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
