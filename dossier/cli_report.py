"""``dossier report``: the quality indicators of Quyết định 766 for an agency and a period.

::

    dossier report --from 2025-07-01 --to 2025-09-30 [--agency A] [--procedure P]
                   [--format table|json|csv|html] [--out FILE] [--config F | --database URL]

Read-only: it opens an existing database and writes nothing to it. ``--out`` writes the
rendering to a file (default: standard output).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dossier.engine import Engine

FORMATS = ("table", "json", "csv", "html")


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {value!r}") \
            from None


def add_report(sub: argparse._SubParsersAction[argparse.ArgumentParser],
               deployment_options: Callable[[argparse.ArgumentParser], None],
               engine: Callable[[argparse.Namespace], Engine]) -> None:
    """Add the ``report`` command; ``engine(args)`` opens the deployment read-only."""
    report = sub.add_parser("report", help="the QĐ 766 quality indicators (read-only)")
    deployment_options(report)
    report.add_argument("--from", dest="start", required=True, type=_day,
                        metavar="YYYY-MM-DD", help="first day of the period (Vietnam time)")
    report.add_argument("--to", dest="end", required=True, type=_day, metavar="YYYY-MM-DD",
                        help="last day of the period, included")
    report.add_argument("--agency", metavar="A",
                        help="an agency code: it and the agencies below it in the directory "
                             "(default: every agency)")
    report.add_argument("--procedure", metavar="P", help="one procedure code")
    report.add_argument("--format", choices=FORMATS, default="table",
                        help="default: table")
    report.add_argument("--out", metavar="FILE", help="write here instead of stdout")
    report.set_defaults(run=lambda args: _report(args, engine))


def _report(args: argparse.Namespace, open_engine: Callable[[argparse.Namespace], Engine],
            ) -> int:
    from dossier.reports import render_csv, render_html, render_table

    engine = open_engine(args)
    try:
        report = engine.quality_report(args.agency, start=args.start, end=args.end,
                                       procedure=args.procedure)
    finally:
        engine.close()
    render: dict[str, Callable[[], str]] = {
        "table": lambda: render_table(report), "csv": lambda: render_csv(report),
        "html": lambda: render_html(report),
        "json": lambda: json.dumps(report.as_dict(), ensure_ascii=False, indent=2) + "\n"}
    text = render[args.format]()
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"{args.out}: {args.format} report written", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
