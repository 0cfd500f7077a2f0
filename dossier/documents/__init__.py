"""Documents the engine produces: forms from templates (``templates/``, rendered with
Jinja2), result pages and certified copies (:mod:`dossier.documents.base` is the port).

The renderers are imported on first use (PEP 562), so importing the port loads no template
engine or PDF library.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dossier.plugins import lazy_exports

if TYPE_CHECKING:
    from dossier.documents.control_sheet import render_control_sheet
    from dossier.documents.forms import render_apology_letter, render_receipt

_LAZY = {
    "render_control_sheet": "dossier.documents.control_sheet",
    "render_apology_letter": "dossier.documents.forms",
    "render_receipt": "dossier.documents.forms",
}


__getattr__ = lazy_exports(__name__, _LAZY)


__all__ = ["render_apology_letter", "render_control_sheet", "render_receipt"]
