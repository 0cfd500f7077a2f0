"""The forms half of :class:`~dossier.engine.Engine`'s public API (see :mod:`dossier.forms`
for the rules): forms rendered on demand and the tracking book."""

from __future__ import annotations

from datetime import date
from typing import Literal

from dossier.actors import Actor
from dossier.forms import FormsService
from dossier.policy import check_actor


class FormsApi:
    """The one-stop-shop forms: issued by the kernel, listed by ``documents()``."""

    _forms: FormsService

    def render_form(self, code: str, kind: str, *, format: Literal["pdf", "html"] = "pdf",
                    actor: Actor | None = None) -> bytes:
        """Form ``kind`` (``"form-06"``) of dossier ``code``, as PDF or HTML (UTF-8) bytes.

        A form the dossier's events issued (Giấy tiếp nhận, yêu cầu bổ sung, từ chối, xin
        lỗi, dừng giải quyết) is rendered again as it was issued, unsigned (the issued,
        signed copy is in :meth:`documents`); the control sheet (Phiếu kiểm soát quá trình
        giải quyết hồ sơ: ``form-06`` under Thông tư 03/2025/TT-VPCP, ``form-05`` under
        01/2018 before 15/9/2025) is made now, with every hand-over so far. With ``actor``,
        only a party to the dossier may ask.
        """
        if actor is not None:
            check_actor(actor)
        return self._forms.render(code, kind, fmt=format, actor=actor)

    def issue_pending_forms(self, code: str | None = None) -> int:
        """Make and store the forms events have numbered but no document holds yet (of one
        dossier, or of all from where the last run stopped: the worker's ``forms`` job);
        return how many. :meth:`fire` and :meth:`extend` issue their dossier's at once."""
        return self._forms.issue(code)

    def tracking_book(self, agency: str, start: date, end: date, *,
                      format: Literal["pdf", "csv"] = "pdf") -> bytes:
        """Sổ theo dõi hồ sơ of ``agency``: every dossier it received from ``start`` to
        ``end`` (Vietnam dates, inclusive), in order of reception, as the form of the circular
        in force today (PDF, A4 landscape) or as CSV (UTF-8 with BOM)."""
        return self._forms.tracking_book(agency, start, end, fmt=format)
