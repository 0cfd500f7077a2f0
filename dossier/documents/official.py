"""The default :class:`~dossier.documents.base.FormRenderer`: the templates under
``templates/forms/<circular>/`` (Jinja2, autoescaped) laid out by
:mod:`dossier.documents.layout` as PDF, or put in a page as HTML.

The same markup gives both, so the HTML copy of a form can never say something its PDF does
not. A missing value is an error (``StrictUndefined``), never an empty blank on an official
paper.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateError
from markupsafe import Markup, escape

from dossier.documents import layout
from dossier.documents.base import FormSheet
from dossier.errors import DocumentError
from dossier.resources import template_dir


@cache
def environment() -> Environment:
    """Templates from ``templates/``, autoescaped (layout reads the markup back as HTML, so a
    ``<`` someone typed stays text)."""
    env = Environment(loader=FileSystemLoader(str(template_dir())), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["heading"] = heading
    return env


def heading(name: str, width: int = 24) -> Markup:
    """An agency's name in capitals for the header, broken into the fewest, most even lines
    of at most ``width`` characters (``ỦY BAN NHÂN DÂN`` / ``XÃ THỬ NGHIỆM``)."""
    words = name.upper().split()
    lines = [" ".join(words)]
    for count in range(2, len(words) + 1):
        if max(len(line) for line in lines) <= width:
            break
        lines = _balanced(words, count)
    return Markup("<br>").join(escape(line) for line in lines)


def _balanced(words: list[str], count: int) -> list[str]:
    """``words`` in ``count`` lines whose longest line is as short as it can be."""
    if count == 1:
        return [" ".join(words)]
    best: list[str] = []
    for cut in range(1, len(words) - count + 2):
        lines = [" ".join(words[:cut]), *_balanced(words[cut:], count - 1)]
        if not best or max(map(len, lines)) < max(map(len, best)):
            best = lines
    return best


def markup(template: str, context: Mapping[str, Any]) -> str:
    """``templates/<template>`` rendered with ``context``: the layout markup."""
    try:
        return environment().get_template(template).render(**context)
    except TemplateError as exc:
        raise DocumentError(f"template {template!r} cannot be rendered: {exc}") from exc


def page(body: str, *, title: str, landscape: bool = False) -> str:
    """``body`` (layout markup) as a whole HTML page."""
    return markup("forms/_page.html.j2", {"body": Markup(body), "title": title,
                                          "landscape": landscape})


def _title(sheet: FormSheet) -> str:
    what = f"{sheet.title} {sheet.reference}".strip()
    return f"{what} ({sheet.dossier_code})" if sheet.dossier_code else what


class OfficialForms:
    """Forms from the shipped templates: PDF through :mod:`~dossier.documents.layout`."""

    def pdf(self, sheet: FormSheet) -> bytes:
        body = markup(sheet.template, {"sheet": sheet, "f": sheet.fields})
        return layout.render(body, title=_title(sheet), created_at=sheet.issued_at,
                             landscape=sheet.landscape)

    def html(self, sheet: FormSheet) -> str:
        body = markup(sheet.template, {"sheet": sheet, "f": sheet.fields})
        return page(body, title=_title(sheet), landscape=sheet.landscape)
