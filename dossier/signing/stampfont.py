"""The stamp's font, subset once per process and reused by every visible signature.

pyHanko's :class:`~pyhanko.pdf_utils.font.opentype.GlyphAccumulator` subsets the font anew
for every stamp: fontTools decompiles the OpenType layout tables and rewrites the font, which
made a visible signature cost five times an invisible one. A stamp shows Vietnamese text, so
the font is subset once, to the Vietnamese alphabet, digits and punctuation
(:data:`REPERTOIRE`), and every stamp embeds those prepared bytes as they are. Glyph ids are
kept (``retain_gids``), so the text is shaped on the full font, as pyHanko does, and the
content stream names the same glyphs in either font.

A stamp whose text needs a glyph outside the repertoire (a name in another script) falls back
to pyHanko's own subset of the full font for that document: slower, never wrong.

This leans on three internals of pyHanko's ``GlyphAccumulator`` (``_get_cid_and_width``,
``_extract_subset`` and its ``cidfont_obj``); ``tests/test_signing_local.py`` checks both
paths against ``pdftotext``.
"""

from __future__ import annotations

import unicodedata
import zlib
from dataclasses import dataclass
from functools import cache
from io import BytesIO
from typing import Any

from fontTools import subset, ttLib  # type: ignore[import-untyped]
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.font.opentype import CIDFontType2, GlyphAccumulator
from pyhanko.pdf_utils.writer import BasePdfFileWriter

_LETTERS = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
_TONES = ("\u0300", "\u0301", "\u0303", "\u0309", "\u0323")  # huyền sắc ngã hỏi nặng
_VOWELS = "aăâeêioôơuưy"


def _repertoire() -> str:
    chars = {chr(code) for code in range(0x20, 0x7F)}  # printable ASCII
    for letter in _LETTERS:
        chars.update((letter, letter.upper()))
    for vowel in _VOWELS + _VOWELS.upper():
        chars.update(unicodedata.normalize("NFC", vowel + tone) for tone in _TONES)
    chars.update("–—…‘’“”«»°·№")
    return "".join(sorted(chars))


#: The characters the prepared subset covers: what Vietnamese names, agencies and dates use.
REPERTOIRE = _repertoire()


@dataclass(frozen=True)
class PreparedFont:
    """A font's subset for :data:`REPERTOIRE`, ready to embed."""

    font_file: bytes                  # the FontFile2 stream, zlib-compressed
    glyph_ids: frozenset[int]
    widths: dict[int, int]            # glyph id → advance width, in font units


@cache
def prepare(font: bytes) -> PreparedFont:
    """The subset of ``font`` (TrueType bytes) covering :data:`REPERTOIRE`, made once."""
    tt = ttLib.TTFont(BytesIO(font))
    # glyphs the shaper may substitute (ligatures) are kept too; the layout tables are then
    # dropped, as pyHanko drops them: the text is shaped before it is embedded
    subsetter = subset.Subsetter(options=subset.Options(layout_closure=True, retain_gids=True))
    subsetter.populate(text=REPERTOIRE)
    subsetter.subset(tt)
    for tag in ("GPOS", "GDEF", "GSUB"):
        if tag in tt:
            del tt[tag]
    order = tt.getGlyphOrder()
    metrics = tt["hmtx"].metrics
    kept = subsetter.glyphs_retained
    glyph_ids = frozenset(gid for gid, name in enumerate(order) if name in kept)
    out = BytesIO()
    tt.save(out)
    return PreparedFont(font_file=zlib.compress(out.getvalue()), glyph_ids=glyph_ids,
                        widths={gid: metrics[order[gid]][0] for gid in glyph_ids})


class _PreparedCIDFont(CIDFontType2):
    """Embeds the prepared subset instead of compiling one."""

    def __init__(self, tt: ttLib.TTFont, base_ps_name: str, subset_prefix: str,
                 prepared: PreparedFont) -> None:
        super().__init__(tt, base_ps_name, subset_prefix)
        self._prepared = prepared

    def set_font_file(self, writer: BasePdfFileWriter) -> generic.IndirectObject:
        stream = generic.StreamObject({generic.pdf_name("/Filter"):
                                       generic.pdf_name("/FlateDecode")},
                                      encoded_data=self._prepared.font_file)
        ref = writer.add_object(stream)
        self._font_descriptor[generic.pdf_name("/FontFile2")] = ref
        return ref


class PreparedGlyphs(GlyphAccumulator):
    """A :class:`GlyphAccumulator` that embeds the :func:`prepare`\\ d subset of its font when
    the stamp's glyphs are all in it, and subsets the full font otherwise."""

    def __init__(self, writer: BasePdfFileWriter, font: bytes, **options: Any) -> None:
        super().__init__(writer=writer, font_handle=BytesIO(font), **options)
        self._prepared = prepare(font)

    def _get_cid_and_width(self, glyph_id: int) -> tuple[int, int]:
        width = self._prepared.widths.get(glyph_id)
        if width is None:  # not in the repertoire: read it from the full font
            return super()._get_cid_and_width(glyph_id)
        self._glyphs[glyph_id] = (glyph_id, width)  # a TrueType font's CIDs are its glyph ids
        return glyph_id, width

    def prepare_write(self) -> None:
        font = self.cidfont_obj
        if not self._write_prepared and isinstance(font, CIDFontType2) \
                and self._glyphs.keys() <= self._prepared.glyph_ids:
            # pyHanko names the font "<subset prefix>+<PostScript name>"
            self.cidfont_obj = _PreparedCIDFont(self.tt, font.name.partition("+")[2],
                                                self.subset_prefix, self._prepared)
            self._subset_created = True  # nothing to subset: the prepared font goes in
        super().prepare_write()  # type: ignore[no-untyped-call]
