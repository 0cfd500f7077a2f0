"""Documents the engine produces from templates (``templates/``, rendered with Jinja2)."""

from dossier.documents.control_sheet import render_control_sheet
from dossier.documents.forms import render_apology_letter, render_receipt

__all__ = ["render_apology_letter", "render_control_sheet", "render_receipt"]
