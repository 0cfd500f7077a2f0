"""``python -m bench``: every bench in its quick mode, then one table of targets and figures.

Run from the project root. It starts a throwaway PostgreSQL cluster (``pg_virtualenv -t``)
and runs everything inside it, unless ``PGHOST`` is set; ``--no-pg`` leaves PostgreSQL out.
About two to four minutes on a 2-core machine. The soak test (``bench/soak.py``) is not part of it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from bench import calendar, coldstart, imports, outbox, pairs, pg, signing, sweep, transitions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench",
                                     description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--no-pg", action="store_true", help="leave PostgreSQL out")
    args = parser.parse_args(argv)
    if not args.no_pg and not os.environ.get("PGHOST"):
        return pg.in_cluster(["-m", "bench", *(sys.argv[1:] if argv is None else argv)])
    began = time.perf_counter()
    figures: list[pairs.Figure] = []
    parts = [
        ("transitions", lambda: [transitions.run(40, 5)]),
        ("outbox", lambda: [outbox.run(40, 5)]),
        ("signing", lambda: signing.run(6, 5)),
        ("sweep", lambda: sweep.run(300, 3, 10_000, 200_000)),
        ("coldstart", lambda: coldstart.run(4)),
        ("calendar", lambda: calendar.run(50_000, 3)),
        ("imports", lambda: imports.run(5)),
    ]
    if not args.no_pg:
        parts.append(("pg", lambda: pg.run(True, 5, 2.0, 30)))
    with pg.quiet():
        for name, part in parts:
            print(f"\n=== {name} " + "=" * (70 - len(name)), flush=True)
            figures += part()
    print(f"\n{pairs.table(figures)}\n(quick mode, {time.perf_counter() - began:.0f} s; "
          f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
