"""The `guanxi` command: demo, serve, worker, workspaces, users, API tokens, stats, and Django's commands.

Every command parses its input, calls one service or selector, and prints. A refusal (unknown workspace or
store, bad role or time zone, a database that does not answer) is one line on stderr and exit code 2.
`guanxi serve` is Django's threaded development server with static files and, unless --no-worker, the Huey job
consumer in the same process (guanxi.imports.consumer); `guanxi serve --production` runs gunicorn with WhiteNoise
and `guanxi worker` beside it (guanxi.serving), behind a proxy that terminates HTTPS.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from urllib.parse import urlsplit, urlunsplit

from guanxi.customers.cli import add_customers_parser, cmd_customers
from guanxi.commerce.cli import add_products_parser, cmd_products
from guanxi.imports.cli import add_import_parser, cmd_import
from guanxi.insight.cli import add_analytics_parser, cmd_analytics
from guanxi.segments.cli import add_segments_parser, cmd_segments
from guanxi.workspaces.cli import add_rates_parser, cmd_rates

DEFAULT_PORT = 8000
NO_WORKER_HELP = "do not run background jobs in this process (run `guanxi worker` separately)"


class CliError(Exception):
    """A refusal the user can fix; printed as one line, exit code 2."""


def masked_url(url: str) -> str:
    """`url` with its password replaced by ***, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="guanxi", description="Guanxi, a CRM for online shops.")
    parser.add_argument("--workspace", metavar="SLUG", help="workspace to act in (default: the only one)")
    # Sub-commands accept --workspace too; SUPPRESS keeps them from overwriting the global value with None.
    ws = argparse.ArgumentParser(add_help=False)
    ws.add_argument("--workspace", metavar="SLUG", default=argparse.SUPPRESS, help="workspace to act in")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="load demo data, print a login and serve it")
    p.add_argument("--no-serve", action="store_true", help="load and print the login, then exit")
    p.add_argument("--customers", type=int, default=2000, help="generated Taobao-style customers (default 2000)")
    p.add_argument("--orders", type=int, default=10000, help="generated Taobao-style orders (default 10000)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--no-worker", action="store_true", help=NO_WORKER_HELP)

    p = sub.add_parser("serve", help="serve the web app and API (development server, or --production)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--production", action="store_true",
                   help="gunicorn, static files by WhiteNoise, and the job worker beside it (see README)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="gunicorn worker processes with --production (default: 2 x cores + 1, at most 8)")
    p.add_argument("--no-worker", action="store_true", help=NO_WORKER_HELP)

    p = sub.add_parser("worker", help="run the background job consumer (Huey) until Ctrl-C")
    p.add_argument("--workers", type=int, default=1, help="jobs run at the same time (threads; default 1)")

    p = sub.add_parser("workspace", help="manage workspaces")
    wsub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = wsub.add_parser("create", help="create a workspace")
    p.add_argument("slug")
    p.add_argument("--name", default="")
    p.add_argument("--time-zone", default="", help="IANA name, e.g. Asia/Shanghai (default: GUANXI_TIME_ZONE)")
    p.add_argument("--currency", default="CNY", help="reporting currency, ISO 4217 (default CNY)")

    p = sub.add_parser("createuser", parents=[ws], help="create or update a user and their role in a workspace")
    p.add_argument("--username", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--role", required=True, help="owner, sales, service, marketing or analyst")

    p = sub.add_parser("token", parents=[ws], help="print a new API token for a member")
    p.add_argument("--username", required=True)
    p.add_argument("--name", default="", help="a label to recognise the token by")

    p = sub.add_parser("stats", parents=[ws], help="customer and order totals")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--store", metavar="NAME", help="only this store")

    add_segments_parser(sub, parents=[ws])
    add_analytics_parser(sub, parents=[ws])
    add_import_parser(sub, parents=[ws])
    add_customers_parser(sub, parents=[ws])
    add_rates_parser(sub, parents=[ws])
    add_products_parser(sub, parents=[ws])

    sub.add_parser("manage", help="Django's management commands, for developers (guanxi manage help)")
    return parser


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.settings")
    import django

    django.setup()
    from django.utils import translation

    # Messages follow the terminal's locale (LANG=zh_CN.UTF-8 → Chinese), never whatever an earlier caller in
    # the same process left active.
    translation.activate("zh-hans" if os.environ.get("LANG", "").lower().startswith("zh") else "en")


def _prepare_database() -> None:
    """Fail with one line if the database does not answer; apply pending migrations quietly."""
    from django.conf import settings
    from django.core.management import call_command
    from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
    from django.db.migrations.executor import MigrationExecutor

    connection = connections[DEFAULT_DB_ALIAS]
    try:
        connection.ensure_connection()
    except DatabaseError as exc:
        url = settings.DATABASE_URL or f"sqlite:///{settings.DATABASES['default']['NAME']}"
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        password = urlsplit(url).password
        if password:
            reason = reason.replace(password, "***")
        raise CliError(f"cannot connect to the database {masked_url(url)}: {reason}") from None
    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        call_command("migrate", verbosity=0, interactive=False)


def _workspace(slug: str | None):
    from guanxi.workspaces.models import Workspace

    if slug:
        workspace = Workspace.objects.filter(slug=slug).first()
        if workspace is None:
            known = ", ".join(Workspace.objects.values_list("slug", flat=True)) or "none yet"
            raise CliError(f"no workspace {slug!r} (existing: {known})")
        return workspace
    workspaces = list(Workspace.objects.all()[:21])
    if not workspaces:
        raise CliError("no workspace yet; create one with: guanxi workspace create SLUG")
    if len(workspaces) > 1:
        slugs = ", ".join(w.slug for w in workspaces[:20])
        raise CliError(f"there are several workspaces; choose one with --workspace SLUG ({slugs})")
    return workspaces[0]


def _validation_message(exc) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" if field != "__all__" else " ".join(msgs)
                         for field, msgs in exc.message_dict.items())
    return " ".join(exc.messages)


# Commands -----------------------------------------------------------------------------------------------------


def _cmd_serve(args) -> int:
    from django.core.management import call_command

    from guanxi.imports.consumer import serving_jobs

    if not getattr(args, "production", False) and getattr(args, "workers", None) is not None:
        raise CliError("--workers goes with --production (the development server is one process)")
    if getattr(args, "production", False):
        from guanxi.serving import default_workers, serve_production

        workers = args.workers if args.workers is not None else default_workers()
        if workers < 1:
            raise CliError(f"--workers must be at least 1, not {workers}")
        return serve_production(host=args.host, port=args.port, workers=workers, job_worker=not args.no_worker)

    # --insecure serves static files with DEBUG off; --noreload keeps one process (Ctrl-C stops it).
    with serving_jobs(enabled=not args.no_worker):
        call_command("runserver", f"{args.host}:{args.port}", "--noreload", "--insecure")
    return 0


def _cmd_demo(args) -> int:
    try:
        from guanxi.demo import build_demo
    except ModuleNotFoundError as exc:
        if exc.name != "guanxi.demo":
            raise
        raise CliError("the demo loader (guanxi.demo) is not installed") from None
    if not args.no_serve:
        from guanxi.demo.ports import port_in_use

        # Before loading: a busy port found after a minute of loading wastes the minute.
        if port_in_use(args.host, args.port):
            raise CliError(f"port {args.port} on {args.host} is already in use; choose another with --port PORT")
    demo = build_demo(customers=args.customers, orders=args.orders, progress=sys.stderr.isatty())
    host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    print("Guanxi demo is ready. Sign in at:")
    print(f"  URL:       http://{host}:{args.port}")
    print(f"  Username:  {demo.username}")
    print(f"  Password:  {demo.password}")
    print(f"  Workspace: {getattr(demo.workspace, 'slug', demo.workspace)}", flush=True)
    if getattr(demo, "stores_summary", ""):
        print(f"  Stores:    {demo.stores_summary}", flush=True)
    if getattr(demo, "cdnow_workspace", None) is not None:
        print(f"  Also:      {demo.cdnow_workspace.slug} (the real CDNOW data, 1997–98, USD; switch at the top)",
              flush=True)
    if args.no_serve:
        return 0
    return _cmd_serve(args)


def _cmd_worker(args) -> int:
    from guanxi.imports.consumer import run_consumer

    run_consumer(workers=max(args.workers, 1))
    return 0


def _cmd_workspace(args) -> int:
    from guanxi.workspaces.services import workspace_create

    workspace = workspace_create(slug=args.slug, name=args.name, time_zone=args.time_zone, currency=args.currency)
    print(f"Created workspace {workspace.slug} ({workspace.name}, {workspace.time_zone}, {workspace.currency})")
    return 0


def _cmd_createuser(args) -> int:
    from django.db import transaction

    from guanxi.workspaces.models import Role
    from guanxi.workspaces.services import member_add, user_ensure

    if args.role not in Role.values:
        raise CliError(f"unknown role {args.role!r} (one of: {', '.join(Role.values)})")
    workspace = _workspace(args.workspace)
    with transaction.atomic():
        user = user_ensure(username=args.username, password=args.password)
        member_add(workspace=workspace, user=user, role=args.role)
    print(f"{user.username} is {args.role} in {workspace.slug}")
    return 0


def _cmd_token(args) -> int:
    from django.contrib.auth import get_user_model

    from guanxi.workspaces.services import api_token_create

    workspace = _workspace(args.workspace)
    user = get_user_model().objects.filter(username=args.username).first()
    if user is None:
        raise CliError(f"no user {args.username!r}")
    print(api_token_create(workspace=workspace, user=user, name=args.name))
    return 0


def _cmd_stats(args) -> int:
    from guanxi.commerce.money import order_stats, stats_json
    from guanxi.workspaces import tenancy
    from guanxi.workspaces.models import Store

    workspace = _workspace(args.workspace)
    with tenancy.active(workspace):
        store = None
        if args.store is not None:
            store = Store.objects.filter(name=args.store).first()
            if store is None:
                known = ", ".join(Store.objects.values_list("name", flat=True)) or "none yet"
                raise CliError(f"no store {args.store!r} in {workspace.slug} (existing: {known})")
        stats = stats_json(order_stats(store=store))
    if args.json:
        print(json.dumps(stats))
    else:
        for key, value in stats.items():
            if key == "by_currency":
                for code, figures in value.items():
                    print(f"{code:<13} " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in figures.items()))
            elif key != "missing_rates" or value:
                print(f"{key.replace('_', ' '):<13} {'—' if value is None else value}")
    return 0


def _cmd_manage(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["guanxi manage", *argv])
    return 0


COMMANDS = {
    "demo": _cmd_demo,
    "serve": _cmd_serve,
    "worker": _cmd_worker,
    "workspace": _cmd_workspace,
    "createuser": _cmd_createuser,
    "token": _cmd_token,
    "stats": _cmd_stats,
    "segments": cmd_segments,
    "analytics": lambda args: cmd_analytics(args, workspace_for=_workspace, error=CliError),
    "import": lambda args: cmd_import(args, workspace_for=_workspace, error=CliError),
    "customers": lambda args: cmd_customers(args, workspace_for=_workspace),
    "rates": lambda args: cmd_rates(args, workspace_for=_workspace, error=CliError),
    "products": lambda args: cmd_products(args, workspace_for=_workspace, error=CliError),
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["manage"]:
        # Passed through untouched: Django's own parser handles its options and --help.
        return _cmd_manage(argv[1:])
    args = _parser().parse_args(argv)
    from django.core.exceptions import ValidationError

    try:
        _setup_django()
        _prepare_database()
        return COMMANDS[args.command](args)
    except CliError as exc:
        print(f"guanxi: error: {exc}", file=sys.stderr)
    except ValidationError as exc:
        print(f"guanxi: error: {_validation_message(exc)}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
