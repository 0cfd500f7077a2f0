"""The quality report (:class:`~dossier.quality.QualityReport`) rendered: a text table, CSV,
and one self-contained HTML page with server-side SVG charts."""

from dossier.reports.page import render_html
from dossier.reports.plain import CSV_HEADER, render_csv, render_table

__all__ = ["CSV_HEADER", "render_csv", "render_html", "render_table"]
