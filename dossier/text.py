"""The one rule for every string that reaches storage, the same on SQLite and PostgreSQL.

A string is checked *before* the database sees it, so that a bad one is an
:class:`~dossier.errors.InvalidInput` naming the field instead of whatever the driver raises
(PostgreSQL: ``StringDataRightTruncation`` past a ``VARCHAR(n)``, ``DataError`` on NUL;
either: ``UnicodeEncodeError`` on a lone surrogate), and so that SQLite, which enforces no
length at all, keeps exactly what PostgreSQL would.

- **NFC.** Vietnamese can be typed precomposed (NFC) or with combining marks (NFD); both
  look the same and compare unequal, so every string is kept in NFC.
- **No lone surrogates, no NUL.** Neither can be stored as UTF-8 text.
- **Lines.** Free text (reasons, notes, names of things) may hold tabs and line breaks;
  identifiers (actor ids, agency codes, file names, versions…) hold no control character and
  no bidirectional override or isolate (they make a name display as something it is not).
- **Length** in characters (what ``VARCHAR(n)`` counts on PostgreSQL), after NFC: see
  :data:`LIMITS`, derived from the columns in ``dossier/store/tables.py``.

Messages name the field and never echo the value: it may be personal data (an ID number).
Pure: stdlib only, no I/O.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from dossier.errors import InvalidInput


class Kind(StrEnum):
    """What a string is, which decides its limit and the characters it may hold."""

    ACTOR_ID = "actor_id"
    DOSSIER_CODE = "dossier_code"
    AGENCY = "agency"
    COMPONENT = "component"
    FILENAME = "filename"
    MEDIA_TYPE = "media_type"
    PROCEDURE_CODE = "procedure_code"
    PROCEDURE_VERSION = "procedure_version"
    PERSON_NAME = "person_name"
    LABEL = "label"
    REFERENCE = "reference"
    KEY = "key"
    FREE_TEXT = "free_text"


@dataclass(frozen=True)
class Limit:
    """At most ``chars`` characters; ``lines``: tabs and line breaks allowed (free text)."""

    chars: int
    lines: bool
    why: str


#: The one table of limits. VARCHAR columns give the hard ceiling; text columns get a bound
#: no real entry reaches, so that a runaway value is refused instead of stored.
LIMITS: Final[Mapping[Kind, Limit]] = {
    Kind.ACTOR_ID: Limit(128, False, "events.actor, events.on_behalf_of, dossiers.owner, "
                         "attachments.attached_by and every requested_by are VARCHAR(128)"),
    Kind.AGENCY: Limit(48, False, "dossiers.code (VARCHAR(64)) is AGENCY-yymmdd-nnnn: 48 leaves "
                       "room for a counter widened to 8 digits; dossiers.agency is VARCHAR(64)"),
    Kind.DOSSIER_CODE: Limit(64, False, "dossiers.code is VARCHAR(64)"),
    Kind.COMPONENT: Limit(64, False, "attachments.component and documents.component are "
                          "VARCHAR(64)"),
    Kind.FILENAME: Limit(255, False, "attachments.filename and documents.filename are "
                         "VARCHAR(255), the usual file-system limit too"),
    Kind.MEDIA_TYPE: Limit(128, False, "attachments.media_type is VARCHAR(128)"),
    Kind.PROCEDURE_CODE: Limit(32, False, "procedures.code and dossiers.procedure_code are "
                               "VARCHAR(32)"),
    Kind.PROCEDURE_VERSION: Limit(32, False, "procedures.version and "
                                  "dossiers.procedure_version are VARCHAR(32)"),
    Kind.PERSON_NAME: Limit(256, False, "a name on one line; stored in JSON text, no real "
                            "Vietnamese full name comes near 256 characters"),
    Kind.LABEL: Limit(1000, False, "one-line names of things (a procedure, a component, a "
                      "fee, a field of law); kept in text columns"),
    Kind.REFERENCE: Limit(128, False, "a POS slip, cash-book line or transaction id; matches "
                          "payments.provider_ref (VARCHAR(128))"),
    Kind.KEY: Limit(64, False, "a key of the applicant mapping: a field name, not data"),
    Kind.FREE_TEXT: Limit(4000, True, "reasons, notes, legal bases, applicant details: a "
                          "page of text; kept in text columns"),
}

# U+202A-U+202E (embeddings, overrides) and U+2066-U+2069 (isolates): they reorder what is
# displayed, so "exe.fdp" can show as "pdf.exe" (CVE-2021-42574, "Trojan Source")
BIDI_CONTROLS: Final = frozenset(chr(c) for c in (*range(0x202A, 0x202F),
                                                    *range(0x2066, 0x206A)))
_LINE_CONTROLS: Final = frozenset("\t\n\r")


def problem(value: object, kind: Kind) -> str | None:
    """What is wrong with ``value`` as a ``kind`` (``None``: nothing); ``value`` is not echoed.

    Call :func:`clean` to get the stored form; this is for callers that phrase the error
    themselves (the procedure model's validators).
    """
    if not isinstance(value, str):
        return "must be text"
    limit = LIMITS[kind]
    if value.isascii() and value.isprintable():
        # the common case (codes, ids) in two C calls: printable ASCII holds no NUL, control,
        # bidi control or surrogate, and is its own NFC
        return None if len(value) <= limit.chars else f"must be at most {limit.chars} characters"
    # surrogates first: NFC and UTF-8 both need well-formed text
    if not _encodable(value):
        return "holds a lone surrogate (not valid Unicode text)"
    if "\x00" in value:
        return "holds a NUL character"
    for ch in value:
        if unicodedata.category(ch) == "Cc" and not (limit.lines and ch in _LINE_CONTROLS):
            what = "control characters" if limit.lines else "control characters or line breaks"
            return f"must not hold {what}"
        if not limit.lines and ch in BIDI_CONTROLS:
            return "must not hold bidirectional override or isolate characters"
    if len(unicodedata.normalize("NFC", value)) > limit.chars:
        return f"must be at most {limit.chars} characters"
    return None


def clean(field: str, value: object, kind: Kind, *, strip: bool = True,
          blank: bool = False) -> str:
    """``value`` checked as a ``kind`` and normalised to NFC (stripped when ``strip``).

    Raises :class:`InvalidInput` naming ``field``; an empty result is refused unless
    ``blank``.
    """
    wrong = problem(value, kind)
    if wrong is not None:
        raise InvalidInput(f"{field} {wrong}")
    assert isinstance(value, str)
    text = unicodedata.normalize("NFC", value)
    if strip:
        text = text.strip()
    if not blank and not text.strip():
        raise InvalidInput(f"{field} must be non-empty text")
    return text


def for_record(text: str) -> str:
    """``text`` made storable without refusing it: NUL and lone surrogates become U+FFFD.

    For what must be kept as it came (a callback's raw body, for the review queue), where
    refusing would lose the evidence.
    """
    if "\x00" not in text and _encodable(text):
        return text
    return "".join("\ufffd" if ch == "\x00" or "\ud800" <= ch <= "\udfff" else ch
                   for ch in text)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # only a lone surrogate makes a str unencodable as UTF-8
        return False
    return True
