"""Fuzzing ``verify()``: whatever the bytes, it returns reports or raises a ``DossierError``.

The target is the smallest realistic signed PDF: one blank page, uncompressed, an invisible
PAdES signature without reason or location, signed with the test PKI (~14 KB, of which
~12 KB is the hex of the reserved ``/Contents``).

Byte flips (every byte XOR 0xFF): a flip costs 5-30 ms (a flip that still parses runs the
whole validation), so flipping all ~14 000 bytes takes over two minutes on the 2-core CI
box. Every byte is flipped where the structure lives: the first revision's catalog and its
cross-reference table and trailer, and the whole incremental update (the new catalog, page,
info, AcroForm and field/widget objects, the signature dictionary outside its ``/Contents``
hex, the second cross-reference table and trailer) plus the first 128 hex digits of
``/Contents`` (the DER headers of the CMS container). With a stride (:data:`BODY_STRIDE`,
:data:`HEX_STRIDE`) elsewhere: the original page, page tree, content stream and info
objects, and the rest of the hex (certificates, then zero padding).

The same flips go through ``pades.open_pdf`` (every signer's ``check_document``), and every
other byte of the unsigned one-page PDF is flipped and signed with the local signer: a
file can open (pyHanko reads lazily) and break only while the field is laid out.

Then Hypothesis: truncations at any length, and random overwrites of a few bytes anywhere.

Before the fix (pyHanko's parse errors caught at the edge, in ``verify`` and in
``pades.open_pdf``/``pades.prepare``), 715 of these 2 195 flips escaped ``verify`` (547
``PdfStreamError``, 162 ``PdfReadError``, 5 ``ObjectHeaderReadError``, 1 ``AttributeError``),
and so did 241 of 300 random overwrites (truncations were already caught); a sweep of every
byte of a first, slightly larger version of this PDF (with a reason and a location) let
12 431 of 14 399 flips escape. ``open_pdf`` let none escape, but signing let 90 of the 379
flipped unsigned PDFs escape (``PdfReadError``, ``ObjectHeaderReadError``,
``PdfStreamError``, and pyHanko's ``AssertionError``/``TypeError`` on a damaged page tree).
None escape now. The module runs in ~30 s.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from functools import cache, partial

import pytest
from fpdf import FPDF
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from signing_support import pki, request

from dossier.errors import DossierError
from dossier.signing import LocalSigner, SignatureReport, SignRequest, pades, verify
from dossier.signing.testpki import TEST_PASSPHRASE

BODY_STRIDE = 3
HEX_STRIDE = 29  # odd, so that both digits of a hex pair get hit along the way
HEX_HEAD = 128
SIGN_STRIDE = 2


@cache
def tiny_pdf() -> bytes:
    pdf = FPDF()
    pdf.set_compression(False)
    pdf.add_page()
    return bytes(pdf.output())


@cache
def local_signer() -> LocalSigner:
    return LocalSigner.from_pkcs12(pki().pkcs12(pki().signer), TEST_PASSPHRASE)


def tiny_request() -> SignRequest:
    return request(visible=False, reason="", location="")


@cache
def tiny_signed_pdf() -> bytes:
    signed = local_signer().sign(tiny_pdf(), tiny_request())
    assert isinstance(signed, bytes)
    return signed


def positions(pdf: bytes) -> list[int]:
    """Every byte of the structural regions, a stride elsewhere (see the module docstring)."""
    first_xref = pdf.index(b"\nxref\n") + 1
    catalogs = [m.span() for m in re.finditer(rb"\d+ 0 obj\n<<.*?endobj\n", pdf[:first_xref],
                                               re.S) if b"/Type /Catalog" in m.group()]
    hex_start = pdf.index(b"/Contents <") + len(b"/Contents <")
    hex_end = pdf.index(b">", hex_start)
    dense = set(range(first_xref, hex_start + HEX_HEAD)) | set(range(hex_end, len(pdf)))
    for start, end in catalogs:
        dense |= set(range(start, end))
    sparse = set(range(0, first_xref, BODY_STRIDE)) | set(
        range(hex_start + HEX_HEAD, hex_end, HEX_STRIDE))
    return sorted(dense | sparse)


@pytest.fixture(autouse=True)
def quiet_pyhanko() -> Iterator[None]:
    # pyHanko logs each failed validation with its traceback; thousands of them would only
    # cost time here (the outcome is checked through the reports)
    loggers = [logging.getLogger(name) for name in ("pyhanko", "pyhanko_certvalidator")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


def escapes(work: Callable[[], object]) -> str | None:
    """None when ``work`` returned or raised a ``DossierError``, else what escaped."""
    try:
        work()
    except DossierError:
        return None
    except Exception as exc:  # exactly what the tests are looking for
        return f"{type(exc).__module__}.{type(exc).__name__}: {exc}"
    return None


def verified(pdf: bytes) -> list[SignatureReport]:
    reports = verify(pdf, [pki().root.cert])
    assert all(isinstance(r, SignatureReport) for r in reports)
    return reports


def outcome(pdf: bytes) -> str | None:
    """None when ``verify`` kept its contract on ``pdf``, else what escaped."""
    return escapes(lambda: verified(pdf))


def test_the_fuzzed_pdf_is_small_and_verifies() -> None:
    pdf = tiny_signed_pdf()
    assert len(pdf) < 20_000
    (report,) = verify(pdf, [pki().root.cert])
    assert report.ok, report.reasons


def test_a_flipped_byte_anywhere_structural_gives_reports_or_a_dossier_error() -> None:
    pdf = tiny_signed_pdf()
    cases = positions(pdf)
    assert len(cases) > 1500  # the structure really is covered densely
    escaped: list[tuple[int, str]] = []
    for at in cases:
        flipped = bytearray(pdf)
        flipped[at] ^= 0xFF
        problem = outcome(bytes(flipped))
        if problem is not None:
            escaped.append((at, problem))
    assert not escaped, f"{len(escaped)} of {len(cases)} flips escaped: {escaped[:5]}"


def test_a_flipped_signature_byte_is_a_failed_report() -> None:
    pdf = bytearray(tiny_signed_pdf())
    at = pdf.index(b"/ByteRange [") + len(b"/ByteRange [")
    pdf[at] ^= 0xFF
    (report,) = verify(bytes(pdf), [pki().root.cert])
    assert not report.ok


def test_opening_a_flipped_pdf_to_sign_it_gives_a_writer_or_a_dossier_error() -> None:
    pdf = tiny_signed_pdf()  # pades.open_pdf is every signer's check_document
    escaped: list[tuple[int, str]] = []
    for at in positions(pdf):
        flipped = bytearray(pdf)
        flipped[at] ^= 0xFF
        problem = escapes(partial(pades.open_pdf, bytes(flipped)))
        if problem is not None:
            escaped.append((at, problem))
    assert not escaped, escaped[:5]


def test_signing_a_flipped_pdf_signs_it_or_raises_a_dossier_error() -> None:
    # a file can open (pyHanko reads lazily) and still break while the field is laid out
    pdf = tiny_pdf()
    escaped: list[tuple[int, str]] = []
    for at in range(0, len(pdf), SIGN_STRIDE):
        flipped = bytearray(pdf)
        flipped[at] ^= 0xFF
        problem = escapes(partial(local_signer().sign, bytes(flipped), tiny_request()))
        if problem is not None:
            escaped.append((at, problem))
    assert not escaped, escaped[:5]


# the autouse logging fixture is function-scoped: harmless across examples
_FUZZ = settings(max_examples=300, deadline=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture,
                                        HealthCheck.too_slow])


@_FUZZ
@given(st.data())
def test_a_truncated_pdf_gives_reports_or_a_dossier_error(data: st.DataObject) -> None:
    pdf = tiny_signed_pdf()
    length = data.draw(st.integers(min_value=0, max_value=len(pdf) - 1), label="length")
    assert outcome(pdf[:length]) is None


@_FUZZ
@given(st.data())
def test_random_overwrites_give_reports_or_a_dossier_error(data: st.DataObject) -> None:
    pdf = bytearray(tiny_signed_pdf())
    patches = data.draw(st.lists(st.tuples(
        st.integers(min_value=0, max_value=len(pdf) - 1),
        st.binary(min_size=1, max_size=16)), min_size=1, max_size=4), label="patches")
    for at, chunk in patches:
        pdf[at:at + len(chunk)] = chunk  # may run past the end: the file grows a little
    assert outcome(bytes(pdf)) is None
