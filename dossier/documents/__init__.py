"""Documents the engine produces: the one-stop-shop forms (``templates/forms/``, Jinja2 laid
out by :mod:`dossier.documents.layout`), result pages, certified copies and receipts.
:mod:`dossier.documents.base` holds the ports (:class:`~dossier.documents.base.Paperwork`,
:class:`~dossier.documents.base.FormRenderer`, :class:`~dossier.documents.base.Sealer`);
:mod:`dossier.documents.circulars` says which forms exist under which circular.

The renderers are imported on first use (PEP 562), so importing the ports loads no template
engine or PDF library.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dossier.plugins import lazy_exports

if TYPE_CHECKING:
    from dossier.documents.official import OfficialForms

_LAZY = {"OfficialForms": "dossier.documents.official"}


__getattr__ = lazy_exports(__name__, _LAZY)


__all__ = ["OfficialForms"]
