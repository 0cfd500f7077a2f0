"""The ``dossier`` command.

::

    dossier validate FILE...            check procedure files (errors → exit 1)
    dossier diagram FILE                print the lifecycle as a Mermaid stateDiagram-v2
    dossier demo [--out DIR]            run sample dossiers end to end on a fresh SQLite file
    dossier verify-audit [CODE] [--database URL] [--checkpoint FILE]
                                        check the event hash chain of one dossier or all
                                        (and the ledger against a checkpoint)
    dossier audit checkpoint --out FILE [--database URL]
                                        a statement of the whole ledger (needs the audit key)
    dossier db upgrade [--database URL] migrate the database schema to this version
    dossier db grant ROLE [--schema S] [--apply --database URL]
                                        the application role's least-privilege grants
    dossier worker [--database URL] [--interval S] [--batch N] [--once]
                                        fire due timers (warnings, overdue, supplement expiry)
    dossier reconcile --provider NAME --statement FILE.csv [--layout L] [--day YYYY-MM-DD]
                      [--database URL]  match a provider's daily statement against payments
                                        (not clean → exit 1)
    dossier outbox list|retry|purge [--database URL] [--sink NAME] [--status S] [--id N...]
                                        outbox messages; queue dead ones again; delete them

``--database`` defaults to ``$DOSSIER_DATABASE_URL``, else ``sqlite:///dossier.db``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from dossier.engine import DEFAULT_URL
from dossier.errors import AuditError, DossierError, ProcedureDefinitionError


def _validate(args: argparse.Namespace) -> int:
    from dossier.procedure import read_procedure

    failed = False
    for name in args.files:
        try:
            procedure, warnings = read_procedure(name)
        except ProcedureDefinitionError as exc:
            failed = True
            for line in exc.lines():
                print(line, file=sys.stderr)
            continue
        for warning in warnings:
            print(f"{name}: {warning.path}: warning: {warning.message}", file=sys.stderr)
        print(f"{name}: ok ({procedure.code} v{procedure.version}, "
              f"{len(procedure.steps)} steps)")
    return 1 if failed else 0


def _diagram(args: argparse.Namespace) -> int:
    from dossier.procedure import load_procedure
    from dossier.rulebook import RuleBook

    try:
        procedure = load_procedure(args.file)
    except ProcedureDefinitionError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        return 1
    sys.stdout.write(RuleBook(procedure).mermaid())
    return 0


def _demo(args: argparse.Namespace) -> int:
    from dossier.demo import run_demo

    run_demo(Path(args.out))
    return 0


def _verify_audit(args: argparse.Namespace) -> int:
    import json

    from dossier.engine import Engine

    engine = Engine(args.database)
    try:
        codes = [args.code] if args.code else engine.codes()
        broken = 0
        for code in codes:
            try:
                engine.verify_audit(code)
            except AuditError as exc:
                broken += 1
                print(f"BROKEN {exc}")
            else:
                print(f"ok     {code}")
        print(f"{len(codes) - broken} intact, {broken} broken")
        if args.checkpoint:
            try:
                statement = json.loads(Path(args.checkpoint).read_text(encoding="utf-8"))
                report = engine.verify_checkpoint(statement)
            except (OSError, ValueError) as exc:
                print(f"dossier: cannot read checkpoint {args.checkpoint}: {exc}",
                      file=sys.stderr)
                return 2
            except AuditError as exc:
                print(f"BROKEN checkpoint: {exc}")
                return 1
            for problem in report.problems:
                print(f"BROKEN {problem}")
            for day, missing in sorted(report.gaps.items()):
                print(f"gap    {day}: numbers {', '.join(map(str, missing))} are missing")
            print(f"checkpoint of {report.taken_at.isoformat()}: "
                  + ("every dossier of it is intact" if report.ok else "NOT intact"))
            broken += len(report.problems) + len(report.gaps)
    finally:
        engine.close()
    return 1 if broken else 0


def _audit_checkpoint(args: argparse.Namespace) -> int:
    import json

    from dossier.engine import Engine

    engine = Engine(args.database)
    try:
        statement = engine.audit_checkpoint()
    finally:
        engine.close()
    text = json.dumps(statement, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    if args.out == "-":
        sys.stdout.write(text)
    else:
        Path(args.out).write_text(text, encoding="utf-8")
        agencies = statement["agencies"]
        print(f"checkpoint of {sum(a['dossiers'] for a in agencies.values())} dossiers in "
              f"{len(agencies)} agencies, up to event {statement['up_to_event']}: {args.out}")
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    from dossier.store import Database, upgrade
    from dossier.store.schema import current_revision, head_revision

    db = Database(args.database)
    before = current_revision(db)
    upgrade(db)
    print(f"schema {before or 'empty'} -> {head_revision()}")
    db.dispose()
    return 0


def _db_grant(args: argparse.Namespace) -> int:
    from sqlalchemy import text

    from dossier.store import Database
    from dossier.store.grants import grant_statements

    statements = grant_statements(args.role, args.schema)
    if not args.apply:
        print(";\n".join(statements) + ";")
        return 0
    db = Database(args.database)
    try:
        if db.is_sqlite:
            print("dossier: SQLite has no roles: protect the database file with file-system "
                  "permissions", file=sys.stderr)
            return 2
        with db.engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        db.dispose()
    print(f"granted {args.role} what the engine needs in schema {args.schema}")
    return 0


def _worker(args: argparse.Namespace) -> int:
    import logging

    from dossier.engine import Engine
    from dossier.worker import Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    engine = Engine(args.database)
    try:
        worker = Worker(engine, interval=args.interval, batch=args.batch)
        if args.once:
            report = worker.sweep_once()
            print(f"sweep: {report if report is not None else 'database busy, try again'}")
        else:
            worker.run()
            print(f"worker stopped after {worker.sweeps} sweeps, {worker.fired} timers fired")
    finally:
        engine.close()
    return 0


def _reconcile(args: argparse.Namespace) -> int:
    from datetime import date

    from dossier.engine import Engine
    from dossier.payments.reconcile import read_statement

    layout = args.layout or args.provider
    lines = read_statement(layout, args.statement)
    try:
        days = [date.fromisoformat(day) for day in args.day] if args.day else None
    except ValueError:
        print("dossier: error: --day must be YYYY-MM-DD", file=sys.stderr)
        return 2
    engine = Engine(args.database)
    try:
        report = engine.reconcile(args.provider, lines, layout=layout, days=days)
    finally:
        engine.close()
    print(report.summary())
    for pair in report.matched:
        print(f"  matched {pair.record.order_ref} {pair.record.amount} "
              f"({pair.record.dossier_code})")
    print("clean" if report.clean else "NOT CLEAN: look into the lines above")
    return 0 if report.clean else 1


def _outbox(args: argparse.Namespace) -> int:
    from dossier.engine import Engine

    engine = Engine(args.database)
    try:
        if args.outbox_command == "list":
            entries = engine.outbox_messages(status=args.status, sink=args.sink,
                                             ids=args.id, limit=args.limit)
            for e in entries:
                when = ("delivered=" + e.delivered_at.isoformat() if e.delivered_at
                        else "next=" + e.next_attempt_at.isoformat())
                print(f"{e.id} {e.sink} {e.status.value} {e.dossier_code} #{e.seq} {e.type} "
                      f"attempts={e.attempts} {when} {e.message_id}"
                      + (f" error: {e.last_error}" if e.last_error else ""))
            print(f"{len(entries)} messages" + (f" (the first {args.limit})"
                                                 if len(entries) == args.limit else ""))
        elif args.outbox_command == "retry":
            count = engine.retry_outbox(sink=args.sink, ids=args.id)
            print(f"{count} messages queued for delivery again")
        else:
            count = engine.purge_outbox(sink=args.sink, ids=args.id, status=args.status)
            print(f"{count} {args.status} messages deleted")
    finally:
        engine.close()
    return 0


def _add_outbox(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    outbox = sub.add_parser("outbox", help="messages to sinks: list, retry, purge")
    outbox_sub = outbox.add_subparsers(dest="outbox_command", required=True)
    statuses = ("pending", "delivered", "dead")
    for name, help_text in (("list", "list outbox messages, oldest first"),
                            ("retry", "queue dead messages again (and make waiting ones due)"),
                            ("purge", "delete messages (default: the dead ones)")):
        command = outbox_sub.add_parser(name, help=help_text)
        command.add_argument("--database", default=_database_default(), metavar="URL",
                             help="default: $DOSSIER_DATABASE_URL or sqlite:///dossier.db")
        command.add_argument("--sink", metavar="NAME", help="only this sink's messages")
        command.add_argument("--id", type=int, nargs="+", action="extend", metavar="N",
                             help="only these messages (ids from `dossier outbox list`)")
        if name == "list":
            command.add_argument("--status", choices=statuses, help="default: any")
            command.add_argument("--limit", type=int, default=100, metavar="N",
                                 help="at most N messages (default: 100)")
        elif name == "purge":
            command.add_argument("--status", choices=statuses, default="dead",
                                 help="default: dead")
        command.set_defaults(run=_outbox)


def _database_default() -> str:
    # a URL with a password belongs in the environment, not in shell history or code
    return os.environ.get("DOSSIER_DATABASE_URL") or DEFAULT_URL


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dossier", description=__doc__.split("\n")[0] if
                                     __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True)

    validate = sub.add_parser("validate", help="check procedure files")
    validate.add_argument("files", nargs="+", metavar="FILE")
    validate.set_defaults(run=_validate)

    diagram = sub.add_parser("diagram", help="print a procedure's lifecycle as Mermaid")
    diagram.add_argument("file", metavar="FILE")
    diagram.set_defaults(run=_diagram)

    demo = sub.add_parser("demo", help="run sample dossiers end to end")
    demo.add_argument("--out", default="dossier-demo", metavar="DIR",
                      help="folder for everything the demo writes (default: ./dossier-demo)")
    demo.set_defaults(run=_demo)

    verify = sub.add_parser("verify-audit", help="check event hash chains")
    verify.add_argument("code", nargs="?", help="one dossier code (default: all)")
    verify.add_argument("--database", default=_database_default(), metavar="URL",
                        help="default: $DOSSIER_DATABASE_URL or sqlite:///dossier.db")
    verify.add_argument("--checkpoint", metavar="FILE",
                        help="also prove nothing that existed at this checkpoint was deleted "
                             "or rewritten, and list gaps in the codes")
    verify.set_defaults(run=_verify_audit)

    audit = sub.add_parser("audit", help="ledger checkpoints")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    checkpoint = audit_sub.add_parser("checkpoint", help="write a statement of the whole "
                                      "ledger, authenticated with the audit key")
    checkpoint.add_argument("--out", required=True, metavar="FILE", help="'-' for stdout")
    checkpoint.add_argument("--database", default=_database_default(), metavar="URL",
                            help="default: $DOSSIER_DATABASE_URL or sqlite:///dossier.db")
    checkpoint.set_defaults(run=_audit_checkpoint)

    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_upgrade = db_sub.add_parser("upgrade", help="migrate the schema to this version")
    db_upgrade.add_argument("--database", default=_database_default(), metavar="URL",
                            help="default: $DOSSIER_DATABASE_URL or sqlite:///dossier.db")
    db_upgrade.set_defaults(run=_db_upgrade)
    db_grant = db_sub.add_parser("grant", help="print (or --apply) the application role's "
                                               "least-privilege grants (PostgreSQL)")
    db_grant.add_argument("role", metavar="ROLE", help="the role the engine connects as")
    db_grant.add_argument("--schema", default="public", help="default: public")
    db_grant.add_argument("--apply", action="store_true",
                          help="run the grants as the owner connected by --database")
    db_grant.add_argument("--database", default=_database_default(), metavar="URL",
                          help="default: $DOSSIER_DATABASE_URL or sqlite:///dossier.db")
    db_grant.set_defaults(run=_db_grant)

    worker = sub.add_parser("worker", help="fire due timers until stopped (SIGINT/SIGTERM)")
    worker.add_argument("--database", default=_database_default(), metavar="URL",
                        help="default: $DOSSIER_DATABASE_URL or sqlite:///dossier.db")
    worker.add_argument("--interval", type=float, default=30.0, metavar="SECONDS",
                        help="time between sweeps (default: 30)")
    worker.add_argument("--batch", type=int, default=500, metavar="N",
                        help="dossiers per sweep transaction (default: 500)")
    worker.add_argument("--once", action="store_true", help="sweep once and exit (for cron)")
    worker.set_defaults(run=_worker)

    rec = sub.add_parser("reconcile", help="match a provider's statement against payments")
    rec.add_argument("--database", default=_database_default(), metavar="URL",
                     help="default: $DOSSIER_DATABASE_URL or sqlite:///dossier.db")
    rec.add_argument("--provider", required=True, metavar="NAME",
                     help="the gateway name stored with the payments (vnpay, momo, vietqr…)")
    rec.add_argument("--statement", required=True, metavar="FILE.csv",
                     help="the provider's statement (layouts: dossier.payments.reconcile)")
    rec.add_argument("--layout", metavar="LAYOUT",
                     help="statement layout when it differs from the provider name "
                          "(vnpay, momo, vietqr)")
    rec.add_argument("--day", action="append", metavar="YYYY-MM-DD",
                     help="compare our payments of this day (repeatable; default: the days "
                          "the statement covers)")
    rec.set_defaults(run=_reconcile)

    _add_outbox(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except DossierError as exc:
        print(f"dossier: error: {exc}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
