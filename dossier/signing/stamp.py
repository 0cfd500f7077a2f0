"""The visible signature stamp: the signature field's own appearance, in Vietnamese.

::

    ┌──────┬──────────────────────────────────┐
    │ ▓▓▓▓ │ Ký bởi: Nguyễn Văn Ký             │
    │ ▓QR▓ │ Cơ quan: UBND xã Thử Nghiệm       │
    │ ▓▓▓▓ │ Thời gian ký: 08/09/2025 09:00:00 │
    └──────┴──────────────────────────────────┘

"Ký bởi" and "Cơ quan" are the signing certificate's subject, CN and O (the "Cơ quan" line is
left out when the certificate has no O): the stamp says who the certificate says signed,
never a name a caller passed. For a remote signer that is the certificate the service
returned with the signature.

Because the stamp is the appearance of the signature field (written in the same revision as
the signature), it is covered by the signature and the signature stays valid. Text is set in
Noto Sans (1000 units per em, as pyHanko's glyph metrics assume), embedded as a subset with a
ToUnicode map so that ``pdftotext`` gives back the Vietnamese text exactly. The QR code
carries the lookup URL or the dossier code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.font.opentype import GlyphAccumulator, GlyphAccumulatorFactory
from pyhanko.pdf_utils.generic import StreamObject
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.stamp import QRStampStyle, TextStampStyle
from pyhanko.stamp.base import BaseStampStyle

from dossier.clock import LOCAL_TZ
from dossier.resources import font_path
from dossier.signing.base import SignRequest
from dossier.signing.stampfont import PreparedGlyphs

STAMP_TEXT = "Ký bởi: %(signer)s\nCơ quan: %(agency)s\nThời gian ký: %(signed_at)s"
#: The stamp of a certificate without an organisation (O) in its subject.
STAMP_TEXT_PERSONAL = "Ký bởi: %(signer)s\nThời gian ký: %(signed_at)s"
#: How the signing time is shown: local time in Vietnam.
TIME_FORMAT = "%d/%m/%Y %H:%M:%S"


class _BundledFont(GlyphAccumulatorFactory):
    """pyHanko's OpenType font engine fed from bytes read once (its own factory opens the
    file for every stamp and never closes it), embedding a subset prepared once per process
    (see :mod:`dossier.signing.stampfont`)."""

    def create_font_engine(self, writer: BasePdfFileWriter,
                           obj_stream: StreamObject | None = None) -> GlyphAccumulator:
        if obj_stream is None and writer.stream_xrefs and self.create_objstream_if_needed:
            obj_stream = writer.prepare_object_stream()  # type: ignore[no-untyped-call]
        return PreparedGlyphs(writer, _font_bytes(), font_size=self.font_size,
                              bcp47_lang_code=self.bcp47_lang_code, obj_stream=obj_stream)


@cache
def _font_bytes() -> bytes:
    return font_path("regular").read_bytes()


@cache
def _font() -> GlyphAccumulatorFactory:
    return _BundledFont(str(font_path("regular")), font_size=9, bcp47_lang_code="vi")


@cache
def stamp_style(with_qr: bool, with_organisation: bool = True) -> BaseStampStyle:
    """The house stamp style, with or without a QR code and the organisation line (built
    once, then shared)."""
    text_box = TextBoxStyle(font=_font(), font_size=9, leading=12)
    text = STAMP_TEXT if with_organisation else STAMP_TEXT_PERSONAL
    if with_qr:
        return QRStampStyle(stamp_text=text, text_box_style=text_box, border_width=1,
                            innsep=4, background=None)
    return TextStampStyle(stamp_text=text, text_box_style=text_box, border_width=1,
                          background=None)


@dataclass(frozen=True)
class Holder:
    """Who a certificate says holds it: its subject's CN and O (``""`` when absent)."""

    name: str
    organisation: str


def holder_of(cert: asn1_x509.Certificate) -> Holder:
    """The subject's CN and O: the only parts of a subject a stamp shows (others may hold a
    citizen ID number)."""
    subject = cert.subject.native
    return Holder(name=str(subject.get("common_name") or "?"),
                  organisation=str(subject.get("organization_name") or ""))


def stamp_for(request: SignRequest, holder: Holder) -> BaseStampStyle:
    """The style that fits: a QR code when there is something to point to, the
    organisation line when the certificate names one."""
    return stamp_style(bool(request.qr_content), bool(holder.organisation))


def stamp_text_params(request: SignRequest, holder: Holder,
                      signed_at: datetime) -> dict[str, str]:
    """The values interpolated into the stamp's text (and the QR code's ``url``)."""
    params = {"signer": holder.name, "agency": holder.organisation,
              "signed_at": signed_at.astimezone(LOCAL_TZ).strftime(TIME_FORMAT)}
    if request.qr_content:
        params["url"] = request.qr_content
    return params


def format_signing_time(signed_at: datetime) -> str:
    """The signing time as the stamp shows it (``dd/mm/yyyy HH:MM:SS``, Vietnam time)."""
    return signed_at.astimezone(LOCAL_TZ).strftime(TIME_FORMAT)
