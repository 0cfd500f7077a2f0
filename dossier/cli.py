"""The ``dossier`` command.

::

    dossier check-config [FILE]         check a dossier.toml and build what it describes
    dossier validate [FILE...]          check procedure files (with --config: its procedures too)
    dossier diagram FILE                print the lifecycle as a Mermaid stateDiagram-v2
    dossier demo [--out DIR]            run sample dossiers end to end on a fresh SQLite file
    dossier verify-audit [CODE] [--database URL] [--checkpoint FILE [--trust CERT.pem]...]
                                        check the event hash chain of one dossier or all
                                        (and the ledger against a checkpoint, its signature
                                        against the trusted root certificates)
    dossier list [--agency A] [--state S...] [--overdue] [--assignee X] [--order O]
                 [--limit N] [--after CURSOR] [--json] [--config F | --database URL]
                                        find dossiers: a table (or JSON), one page at a time
    dossier audit checkpoint --out FILE [--database URL]
                      [--sign-p12 FILE [--sign-passphrase-env NAME] [--tsa-url URL]]
                                        a statement of the whole ledger: a MAC under the audit
                                        key and/or a CMS signature (RFC 3161 timestamp via TSA)
    dossier db upgrade [--database URL] migrate the database schema to this version
    dossier db grant ROLE [--schema S] [--apply --database URL]
                                        the application role's least-privilege grants
    dossier worker [--config FILE] [--once] [--metrics-port P] [--log-format json]
                                        the background jobs: timers, payments, receipts,
                                        signatures, outbox (see dossier.worker)
    dossier reconcile --provider NAME --statement FILE.csv [--layout L] [--day YYYY-MM-DD]
                      [--database URL]  match a provider's daily statement against payments
                                        (not clean → exit 1)
    dossier outbox list|retry|purge [--config F] [--sink NAME] [--status S] [--id N...]
                                        outbox messages; queue dead ones again; delete them
    dossier serve [--config FILE] [--host H] [--port P]
                                        the web surface (needs dossier[web]): JSON API,
                                        gateway and signer callbacks, public pages
    dossier report --from YYYY-MM-DD --to YYYY-MM-DD [--agency A] [--procedure P]
                   [--format table|json|csv|html] [--out FILE] [--config F | --database URL]
                                        the QĐ 766 quality indicators (see dossier.cli_report)

Every command that touches a deployment takes ``--config FILE`` (default:
``$DOSSIER_CONFIG``): the database, agencies, gateways, signers, sinks and keys come from it
(see :mod:`dossier.config`). ``--database`` overrides the database; without either it is
``$DOSSIER_DATABASE_URL``, else ``sqlite:///dossier.db``. Read-only commands
(``verify-audit``, ``audit checkpoint``, ``list``, ``report``) never create a database: a
missing SQLite file is a one-line error. ``diagram`` and ``demo`` need no deployment (the
demo writes its own).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dossier.engine import DEFAULT_URL
from dossier.errors import (
    AuditError,
    ConfigError,
    DossierError,
    InvalidInput,
    ProcedureDefinitionError,
)

if TYPE_CHECKING:
    from cryptography import x509

    from dossier.engine import Engine
    from dossier.engine.checkpoints import CheckpointReport
    from dossier.signing.base import SignsStatements


def _config(args: argparse.Namespace) -> Path | None:
    from dossier.config import config_path

    return config_path(getattr(args, "config", None))


def _database(args: argparse.Namespace) -> str:
    """--database, else the configuration's, else $DOSSIER_DATABASE_URL, else the default."""
    if args.database:
        return str(args.database)
    config = _config(args)
    if config is not None:
        from dossier.config import load_deployment

        return load_deployment(config).database
    return _database_default()


def _engine(args: argparse.Namespace, *, create: bool = True) -> Engine:
    """The engine the command line describes: from --config when given (--database
    overriding its database), else a bare engine on --database."""
    from dossier.engine import Engine

    config = _config(args)
    if config is not None:
        return Engine.from_config(config, database=args.database or None, create=create)
    return Engine(args.database or _database_default(), create=create)


def _validate(args: argparse.Namespace) -> int:
    from dossier.procedure import read_procedure

    files = list(args.files)
    config = _config(args)
    if config is not None:
        from dossier.config import load_deployment

        files += [str(path) for path in load_deployment(config).procedures]
    if not files:
        print("dossier: error: give procedure files, or --config with procedures", file=sys.stderr)
        return 2
    failed = False
    for name in files:
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


def _check_config(args: argparse.Namespace) -> int:
    from dossier.config import load_deployment

    path = args.file or _config(args)
    if path is None:
        print("dossier: error: give the configuration file (or set $DOSSIER_CONFIG)",
              file=sys.stderr)
        return 2
    deployment = load_deployment(path)
    kinds = deployment.kinds
    print(f"{path}: ok")
    print(f"  database   {_safe_url(deployment.database)}")
    print(f"  agencies   {len(deployment.agencies)}"
          + "".join(f"\n    {a.code}  {a.display_name}"
                    + (f"  (signer {a.signer})" if a.signer else "")
                    for a in deployment.agencies))
    for section, names in kinds.items():
        listed = ", ".join(f"{name} ({kind})" for name, kind in sorted(names.items()))
        print(f"  {section:<10} {listed or '-'}")
    print(f"  audit key  {'set' if deployment.audit_keys else 'NOT SET (plain SHA-256 chain)'}")
    print(f"  procedures {len(deployment.procedures)} file(s)")
    return 0


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # shown for information only; the engine reports a bad URL itself
        return "(not a URL)"


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

    trust = _trust_anchors(args)
    engine = _engine(args, create=False)
    if engine.deployment is not None and engine.deployment.checkpoint_trust:
        trust = [*(trust or ()), *engine.deployment.checkpoint_trust]
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
                report = engine.verify_checkpoint(statement, trust=trust)
            except (OSError, ValueError) as exc:
                print(f"dossier: cannot read checkpoint {args.checkpoint}: {exc}",
                      file=sys.stderr)
                return 2
            except AuditError as exc:
                print(f"BROKEN checkpoint: {exc}")
                return 1
            _print_checkpoint(report)
            broken += len(report.problems) + len(report.gaps)
    finally:
        engine.close()
    return 1 if broken else 0


def _print_checkpoint(report: CheckpointReport) -> None:
    for problem in report.problems:
        print(f"BROKEN {problem}")
    for day, missing in sorted(report.gaps.items()):
        print(f"gap    {day}: numbers {', '.join(map(str, missing))} are missing")
    print("mac    " + ("checked with the audit key" if report.mac_checked else
                       "not checked (none, or a key this engine does not have)"))
    signature = report.signature
    if signature is not None:
        organisation = f" ({signature.organisation})" if signature.organisation else ""
        when = signature.signed_at.isoformat() if signature.signed_at else "an unknown time"
        print(f"signer {signature.signer}{organisation}, signed at {when}; chain "
              + ("checked up to a --trust certificate" if signature.chain_checked else
                 "NOT checked (give --trust ROOT.pem): anyone can make a certificate with "
                 "that name"))
        print("time   " + (f"RFC 3161 timestamp {signature.timestamped_at.isoformat()} by "
                           f"{signature.timestamp_authority}" if signature.timestamped_at
                           else "no timestamp: the signing time is the signer's own claim"))
    print(f"checkpoint of {report.taken_at.isoformat()}: "
          + ("every dossier of it is intact" if report.ok else "NOT intact"))


def _trust_anchors(args: argparse.Namespace) -> list[x509.Certificate] | None:
    """The certificates in the --trust files (PEM, several per file, or DER); None without."""
    if not args.trust:
        return None
    from cryptography import x509

    anchors: list[x509.Certificate] = []
    for name in args.trust:
        data = _read_file(name, "--trust")
        try:
            anchors += (x509.load_pem_x509_certificates(data) if b"-----BEGIN" in data
                        else [x509.load_der_x509_certificate(data)])
        except ValueError:
            raise InvalidInput(f"--trust {name}: not a PEM or DER certificate") from None
    return anchors


def _statement_signer(args: argparse.Namespace) -> SignsStatements | None:
    """The signer of --sign-p12 (its passphrase from the environment variable that
    --sign-passphrase-env names: never a command-line value, which ps and shell history
    show), timestamped by --tsa-url; None without --sign-p12."""
    if args.sign_p12 is None:
        if args.tsa_url or args.sign_passphrase_env:
            raise InvalidInput("--tsa-url and --sign-passphrase-env go with --sign-p12")
        return None
    passphrase = None
    if args.sign_passphrase_env:
        passphrase = os.environ.get(args.sign_passphrase_env)
        if passphrase is None:
            raise InvalidInput(f"--sign-passphrase-env names {args.sign_passphrase_env}, "
                               "which is not set in the environment")
    from dossier.signing.local import LocalSigner

    return LocalSigner.from_pkcs12(_read_file(args.sign_p12, "--sign-p12"), passphrase,
                                   tsa_url=args.tsa_url)


def _read_file(name: str, option: str) -> bytes:
    try:
        return Path(name).read_bytes()
    except OSError as exc:
        raise InvalidInput(f"{option} {name}: cannot be read ({exc.strerror})") from exc


def _list(args: argparse.Namespace) -> int:
    import json

    from dossier.listing import listed, table

    engine = _engine(args, create=False)
    try:
        page = engine.find(agency=args.agency, state=args.state, overdue=args.overdue,
                           assignee=args.assignee, order=args.order, limit=args.limit,
                           after=args.after)
        now = engine.clock.now()
        rows = [listed(d, engine.calendar_for(d.agency), now) for d in page.items]
    finally:
        engine.close()
    if args.json:
        print(json.dumps({"items": rows, "next": page.next}, ensure_ascii=False, indent=2))
        return 0
    print(table(rows))
    more = f"; more: --after {page.next}" if page.next else ""
    print(f"{len(rows)} dossier(s){more}")
    return 0


def _audit_checkpoint(args: argparse.Namespace) -> int:
    import json

    signer = _statement_signer(args)
    engine = _engine(args, create=False)
    if signer is None and engine.deployment is not None:  # [checkpoints] signer
        signer = engine.deployment.checkpoint_signer
    try:
        statement = engine.audit_checkpoint(signer=signer)
    finally:
        engine.close()
    text = json.dumps(statement, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    if args.out == "-":
        sys.stdout.write(text)
    else:
        Path(args.out).write_text(text, encoding="utf-8")
        agencies = statement["agencies"]
        how = " and ".join(name for key, name in (("mac", "a MAC"), ("cms", "a CMS signature"))
                           if key in statement)
        print(f"checkpoint of {sum(a['dossiers'] for a in agencies.values())} dossiers in "
              f"{len(agencies)} agencies, up to event {statement['up_to_event']}, with "
              f"{how}: {args.out}")
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    from dossier.store import Database, upgrade
    from dossier.store.schema import current_revision, head_revision

    db = Database(_database(args))
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
    db = Database(_database(args), create=False)
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
    from dossier import logs
    from dossier.config import WorkerSettings
    from dossier.worker import Worker

    engine = _engine(args)
    try:
        settings = engine.deployment.worker if engine.deployment else WorkerSettings()
        update = {key: value for key, value in (
            ("sweep_interval", args.interval), ("sweep_batch", args.batch),
            ("metrics_port", args.metrics_port), ("log_format", args.log_format))
            if value is not None}
        settings = settings.model_copy(update=update)
        logs.configure(settings.log_format)
        worker = Worker.from_settings(engine, settings)
        if args.once:
            outcomes = worker.run_all_once()
            for job, outcome in outcomes.items():
                print(f"{job}: {outcome}")
            return 1 if any(o.startswith("failed") for o in outcomes.values()) else 0
        worker.run()
        print(f"worker stopped after {worker.sweeps} sweeps, {worker.fired} timers fired, "
              f"{worker.delivered} messages delivered")
    finally:
        engine.close()
    return 0


def _serve(args: argparse.Namespace) -> int:
    try:
        from dossier.web import WebSettings, create_app
        from dossier.web.server import serve
    except ImportError as exc:
        print(f"dossier: error: serve needs the web extra ({exc.name} is missing): "
              "pip install 'dossier[web]'", file=sys.stderr)
        return 2
    from dossier import logs

    engine = _engine(args)
    try:
        deployment = engine.deployment
        settings = WebSettings.from_deployment(deployment) if deployment else WebSettings()
        web = deployment.web if deployment else None
        host = args.host or (web.host if web else "127.0.0.1")
        port = args.port if args.port is not None else (web.port if web else 8000)
        logs.configure("text")
        serve(create_app(engine, settings=settings), host=host, port=port)
    finally:
        engine.close()
    return 0


def _reconcile(args: argparse.Namespace) -> int:
    from datetime import date

    from dossier.payments.reconcile import read_statement

    layout = args.layout or args.provider
    lines = read_statement(layout, args.statement)
    try:
        days = [date.fromisoformat(day) for day in args.day] if args.day else None
    except ValueError:
        print("dossier: error: --day must be YYYY-MM-DD", file=sys.stderr)
        return 2
    engine = _engine(args, create=False)
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
    engine = _engine(args, create=False)
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
        _deployment_options(command)
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


def _forms_book(args: argparse.Namespace) -> int:
    from datetime import date

    try:
        start, end = date.fromisoformat(args.start), date.fromisoformat(args.end)
    except ValueError:
        print("--from and --to are dates: YYYY-MM-DD", file=sys.stderr)
        return 2
    engine = _engine(args, create=False)
    try:
        data = engine.tracking_book(args.agency, start, end, format=args.format)
    finally:
        engine.close()
    if args.out:
        Path(args.out).write_bytes(data)
        print(f"{args.out}: sổ theo dõi hồ sơ of {args.agency}, {start} to {end}")
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0


def _add_forms(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    forms = sub.add_parser("forms", help="one-stop-shop forms: the tracking book")
    forms_sub = forms.add_subparsers(dest="forms_command", required=True)
    book = forms_sub.add_parser("book", help="an agency's Sổ theo dõi hồ sơ for a period")
    _deployment_options(book)
    book.add_argument("--agency", required=True, metavar="CODE", help="the agency's code")
    book.add_argument("--from", dest="start", required=True, metavar="YYYY-MM-DD",
                      help="first day of reception (Vietnam date)")
    book.add_argument("--to", dest="end", required=True, metavar="YYYY-MM-DD",
                      help="last day of reception, included")
    book.add_argument("--format", choices=("pdf", "csv"), default="pdf", help="default: pdf")
    book.add_argument("--out", metavar="FILE", help="default: standard output")
    book.set_defaults(run=_forms_book)


def _database_default() -> str:
    # a URL with a password belongs in the environment, not in shell history or code
    return os.environ.get("DOSSIER_DATABASE_URL") or DEFAULT_URL


def _deployment_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE",
                        help="the deployment's dossier.toml (default: $DOSSIER_CONFIG)")
    parser.add_argument("--database", metavar="URL",
                        help="default: the configuration's, else $DOSSIER_DATABASE_URL, else "
                             "sqlite:///dossier.db")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dossier", description=__doc__.split("\n")[0] if
                                     __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True)

    check = sub.add_parser("check-config", help="check a dossier.toml and build what it "
                                                "describes (opens no database)")
    check.add_argument("file", nargs="?", metavar="FILE", help="default: $DOSSIER_CONFIG")
    check.set_defaults(run=_check_config)

    validate = sub.add_parser("validate", help="check procedure files")
    validate.add_argument("files", nargs="*", metavar="FILE")
    validate.add_argument("--config", metavar="FILE",
                          help="also check the procedures this dossier.toml lists")
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
    _deployment_options(verify)
    verify.add_argument("--checkpoint", metavar="FILE",
                        help="also prove nothing that existed at this checkpoint was deleted "
                             "or rewritten, and list gaps in the codes")
    verify.add_argument("--trust", action="append", metavar="CERT.pem",
                        help="a root certificate the checkpoint's signature must chain to "
                             "(repeatable; without it the chain is not checked)")
    verify.set_defaults(run=_verify_audit)

    from dossier.query import ORDERS
    from dossier.states import State

    listing = sub.add_parser("list", help="find dossiers (read-only): a table or --json")
    _deployment_options(listing)
    listing.add_argument("--agency", metavar="A", help="the agency code")
    listing.add_argument("--state", nargs="+", metavar="S", choices=[s.value for s in State],
                         help="one or more states")
    listing.add_argument("--overdue", action="store_true",
                         help="open, clock running, due date passed")
    listing.add_argument("--assignee", metavar="X", help="assigned to this officer id")
    listing.add_argument("--order", choices=list(ORDERS), default="step_due",
                         help="earliest first (default: step_due)")
    listing.add_argument("--limit", type=int, default=50, metavar="N",
                         help="at most N dossiers, 1-500 (default: 50)")
    listing.add_argument("--after", metavar="CURSOR", help="continue where a page ended")
    listing.add_argument("--json", action="store_true", help="JSON instead of a table")
    listing.set_defaults(run=_list)

    audit = sub.add_parser("audit", help="ledger checkpoints")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    checkpoint = audit_sub.add_parser("checkpoint", help="write a statement of the whole "
                                      "ledger, with a MAC under the audit key and/or signed")
    checkpoint.add_argument("--out", required=True, metavar="FILE", help="'-' for stdout")
    _deployment_options(checkpoint)
    checkpoint.add_argument("--sign-p12", metavar="FILE",
                            help="sign the statement (detached CMS) with this PKCS#12 key")
    checkpoint.add_argument("--sign-passphrase-env", metavar="NAME",
                            help="the environment variable holding the PKCS#12 passphrase")
    checkpoint.add_argument("--tsa-url", metavar="URL",
                            help="add an RFC 3161 timestamp from this time-stamping authority")
    checkpoint.set_defaults(run=_audit_checkpoint)

    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_upgrade = db_sub.add_parser("upgrade", help="migrate the schema to this version")
    _deployment_options(db_upgrade)
    db_upgrade.set_defaults(run=_db_upgrade)
    db_grant = db_sub.add_parser("grant", help="print (or --apply) the application role's "
                                               "least-privilege grants (PostgreSQL)")
    db_grant.add_argument("role", metavar="ROLE", help="the role the engine connects as")
    db_grant.add_argument("--schema", default="public", help="default: public")
    db_grant.add_argument("--apply", action="store_true",
                          help="run the grants as the owner connected by --database")
    _deployment_options(db_grant)
    db_grant.set_defaults(run=_db_grant)

    worker = sub.add_parser("worker", help="run the background jobs until stopped "
                                           "(SIGINT/SIGTERM)")
    _deployment_options(worker)
    worker.add_argument("--interval", type=float, metavar="SECONDS",
                        help="time between timer sweeps (default: [worker] sweep_interval, 30)")
    worker.add_argument("--batch", type=int, metavar="N",
                        help="dossiers per sweep transaction (default: 500)")
    worker.add_argument("--once", action="store_true",
                        help="run every job once and exit (for cron)")
    worker.add_argument("--metrics-port", type=int, metavar="PORT",
                        help="serve /metrics and /healthz on this port (0: any free one)")
    worker.add_argument("--log-format", choices=("text", "json"),
                        help="log lines as text or JSON (default: [worker] log_format, text)")
    worker.set_defaults(run=_worker)

    rec = sub.add_parser("reconcile", help="match a provider's statement against payments")
    _deployment_options(rec)
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
    _add_forms(sub)

    web = sub.add_parser("serve", help="serve the JSON API, callbacks and public pages "
                                       "(needs dossier[web])")
    _deployment_options(web)
    web.add_argument("--host", metavar="HOST",
                     help="address to listen on (default: [web] host, 127.0.0.1)")
    web.add_argument("--port", type=int, metavar="PORT",
                     help="port to listen on (default: [web] port, 8000; 0: any free one)")
    web.set_defaults(run=_serve)

    from dossier.cli_report import add_report

    add_report(sub, _deployment_options, lambda args: _engine(args, create=False))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except ConfigError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        return 1
    except DossierError as exc:
        print(f"dossier: error: {exc}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
