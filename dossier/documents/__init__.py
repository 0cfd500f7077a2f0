"""Documents the engine produces from templates (``templates/``, rendered with Jinja2)."""

from dossier.documents.control_sheet import render_control_sheet

__all__ = ["render_control_sheet"]
