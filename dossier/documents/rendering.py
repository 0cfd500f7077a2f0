"""The Jinja2 environment for HTML forms, and how forms write instants."""

from __future__ import annotations

from datetime import datetime
from functools import cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from dossier.clock import LOCAL_TZ
from dossier.resources import template_dir


@cache
def html_environment() -> Environment:
    """Templates from ``templates/``; autoescaped; a missing variable is an error."""
    return Environment(loader=FileSystemLoader(str(template_dir())),
                       autoescape=select_autoescape(["html", "j2"]),
                       undefined=StrictUndefined, keep_trailing_newline=True)


def local_time(instant: datetime | str | None) -> str:
    """An instant (or the ISO text events keep) as Hà Nội time: ``09:00 22/09/2025``."""
    if instant is None:
        return ""
    if isinstance(instant, str):
        instant = datetime.fromisoformat(instant)
    return instant.astimezone(LOCAL_TZ).strftime("%H:%M %d/%m/%Y")
