"""`guanxi import orders PATH …`: parse arguments, find or create the store, run orders_import, print;
`guanxi import undo IMPORT_ID`: take an import out again (guanxi.imports.undo).

Every failure is one line on stderr: exit code 2 for a refusal (no such file, a directory, another import
writing to the workspace, an unknown store), 1 for a bad file (its path, line and column, and that nothing
was imported)."""

from __future__ import annotations

import contextlib
import json
import os
import sys

from guanxi.imports.formats import FORMATS


def add_import_parser(sub, *, parents) -> None:
    p = sub.add_parser("import", help="import shop exports")
    isub = p.add_subparsers(dest="what", required=True, metavar="WHAT")
    p = isub.add_parser("orders", parents=parents, help="import an order export (Taobao, Shopify, CDNOW, generic)")
    p.add_argument("path")
    p.add_argument("--items", metavar="PATH", help="Taobao item report (宝贝报表) for order lines")
    p.add_argument("--store", required=True, metavar="NAME",
                   help="store to import into; a new one only with --platform, or in a workspace with no store yet")
    p.add_argument("--platform", default=None,
                   help="create --store with this platform if it does not exist (default in a workspace with no "
                        "store: from the format)")
    p.add_argument("--format", choices=FORMATS, default=None, help="default: detected from the header")
    p.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
    p.add_argument("--on-error", choices=("abort", "skip"), default="abort")
    p.add_argument("--rejects", metavar="PATH", help="reject CSV for --on-error skip (default PATH.rejects.csv)")
    p.add_argument("--map", action="append", default=[], metavar="HEADER=COLUMN",
                   help="read a column under another header, e.g. --map 订单号=order_number (generic format)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p = isub.add_parser("undo", parents=parents, help="undo an import: remove what it created, restore what it changed")
    p.add_argument("import_id", type=int, metavar="IMPORT_ID", help="the import_id an import printed")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")


PLATFORM_OF_FORMAT = {"taobao": "taobao", "shopify": "shopify", "cdnow": "own_site", "generic": "own_site"}


def _check_readable(path: str, error) -> None:
    """Refuse a path that is not a readable file, before anything is written."""
    if not os.path.exists(path):
        raise error(f"no such file: {path}")
    if os.path.isdir(path):
        raise error(f"{path} is a directory, not an export file")
    if not os.access(path, os.R_OK):
        raise error(f"cannot read {path} (permission denied)")


def cmd_import(args, *, workspace_for, error) -> int:
    if args.what == "undo":
        return _cmd_undo(args, workspace_for=workspace_for, error=error)
    from django.db import OperationalError

    from guanxi.imports.services import ImportBusy, _busy

    for path in (args.path, args.items):
        if path is not None:
            _check_readable(path, error)
    try:
        return _cmd_import(args, workspace_for=workspace_for, error=error)
    except ImportBusy as exc:
        raise error(str(exc)) from None
    except OperationalError as exc:  # SQLite: another import holds the write lock (creating the store, say)
        if _busy(exc):
            raise error(str(ImportBusy())) from None
        raise


def _cmd_import(args, *, workspace_for, error) -> int:
    from django.db import transaction

    import zoneinfo

    from guanxi.commerce.money import export_currency
    from guanxi.imports.readers import RowError, open_orders
    from guanxi.imports.services import ImportFailed, ImportResult, orders_import
    from guanxi.imports.undo import orders_import_recorded
    from guanxi.workspaces import tenancy
    from guanxi.workspaces.models import Platform, Store
    from guanxi.workspaces.services import store_create

    column_map = {}
    for item in args.map:
        source, sep, target = item.partition("=")
        if not sep or not source.strip() or not target.strip():
            raise error(f"--map expects HEADER=COLUMN, got {item!r}")
        column_map[source.strip()] = target.strip()
    args.column_map = column_map or None
    workspace = workspace_for(args.workspace)
    with tenancy.active(workspace):
        store = Store.objects.filter(name=args.store).first()
        if store is None:
            existing = list(Store.objects.order_by("name").values_list("name", flat=True))
            if existing and args.platform is None:
                # A typo must not make a second store holding a copy of every order.
                raise error(f"no store {args.store!r} in {workspace.slug} (existing: {', '.join(existing)}); "
                            f"to create it, add --platform ({', '.join(Platform.values)})")
            platform = args.platform
            if platform is None:
                try:
                    fmt = open_orders(args.path, fmt=args.format, tz=zoneinfo.ZoneInfo(workspace.time_zone),
                                      column_map=args.column_map).format
                except RowError:
                    fmt = args.format or "generic"
                platform = PLATFORM_OF_FORMAT[fmt]
            if platform not in Platform.values:
                raise error(f"unknown platform {platform!r} (one of: {', '.join(Platform.values)})")
            # Made in the import's transaction (below): a first import that fails leaves no empty store.
            store = Store(workspace=workspace, name=args.store, platform=platform,
                          currency=export_currency(args.path, fmt=args.format, platform=platform,
                                                   tz=zoneinfo.ZoneInfo(workspace.time_zone),
                                                   column_map=args.column_map) or workspace.currency)
        bar = None
        if sys.stderr.isatty() and not args.json:
            from tqdm import tqdm

            bar = tqdm(desc="orders", unit=" orders", unit_scale=True)
        job = None
        try:
            if store.pk is None and args.dry_run:  # a store that does not exist yet: check the file only
                result = _check_only(args, workspace)
            elif args.dry_run:
                result = orders_import(workspace=workspace, store=store, path=args.path, items_path=args.items,
                                       fmt=args.format, dry_run=True, on_error=args.on_error,
                                       rejects_path=args.rejects, column_map=args.column_map,
                                       progress=bar.update if bar else None)
            else:
                # Into an existing store the import is not wrapped, so on SQLite it runs in slices (imports.staging).
                with transaction.atomic() if store.pk is None else contextlib.nullcontext():
                    if store.pk is None:
                        store = store_create(workspace=workspace, name=store.name, platform=store.platform,
                                             currency=store.currency)
                    job, result = orders_import_recorded(
                        workspace=workspace, store=store, path=args.path, items_path=args.items, fmt=args.format,
                        on_error=args.on_error, rejects_path=args.rejects, column_map=args.column_map,
                        progress=bar.update if bar else None)
        except RowError as exc:  # the file could not be opened at all
            exc = ImportFailed(ImportResult(errors=[exc.as_dict()]), exc)
            if args.json:
                print(json.dumps(exc.result.as_json(), ensure_ascii=False))
            print(f"guanxi: error: {exc.error}. Nothing was imported.", file=sys.stderr)
            return 1
        except ImportFailed as exc:
            if bar:
                bar.close()
            if args.json:
                print(json.dumps(exc.result.as_json(), ensure_ascii=False))
            print(f"guanxi: error: {exc.error}. Nothing was imported.", file=sys.stderr)
            return 1
        if bar:
            bar.close()
    if args.json:
        print(json.dumps({**result.as_json(), **({"import_id": job.pk} if job else {})}, ensure_ascii=False))
        return 0
    print(f"Detected format: {result.format} ({result.encoding})")
    prefix = "Dry run, nothing written: " if args.dry_run else ""
    print(f"{prefix}{result.rows} orders read: {result.orders_created} created, {result.orders_updated} updated, "
          f"{result.orders_unchanged} unchanged; customers {result.customers_created} created, "
          f"{result.customers_matched} matched")
    if result.warnings:
        first = result.warnings[0]
        print(f"{len(result.warnings)} local times fell in a daylight-saving change and were read by the rule "
              f"(docs/import-rules.md), e.g. line {first['line']}, column {first['column']}: {first['message']}")
    if result.errors:
        print(f"{len(result.errors)} rows rejected" + (f", see {result.rejects_path}" if result.rejects_path else ""))
    if job:
        print(f"Import #{job.pk}; to undo it: guanxi import undo {job.pk} --workspace {workspace.slug}")
    return 0


def _cmd_undo(args, *, workspace_for, error) -> int:
    from guanxi.imports.models import ImportJob
    from guanxi.imports.undo import UndoRefused, import_undo
    from guanxi.workspaces import tenancy

    workspace = workspace_for(args.workspace)
    with tenancy.active(workspace):
        job = ImportJob.objects.filter(pk=args.import_id).first()  # another workspace's import is not found
        if job is None:
            raise error(f"no import #{args.import_id} in {workspace.slug}")
        try:
            summary = import_undo(job=job)
        except UndoRefused as exc:
            raise error(str(exc)) from None
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"Import #{job.pk} undone: {summary['orders_removed']} orders removed, {summary['orders_restored']} "
              f"restored; {summary['customers_removed']} customers removed")
    return 0


def _check_only(args, workspace):
    import zoneinfo

    from guanxi.imports.readers import RowError, open_orders
    from guanxi.imports.services import ImportFailed, ImportResult

    result = ImportResult(dry_run=True)
    opened = open_orders(args.path, fmt=args.format, tz=zoneinfo.ZoneInfo(workspace.time_zone),
                         items_path=args.items, column_map=args.column_map)
    result.format, result.encoding = opened.format, opened.encoding
    for item in opened.rows:
        if isinstance(item, RowError):
            result.errors.append(item.as_dict())
            if args.on_error != "skip":
                raise ImportFailed(result, item)
        else:
            result.rows += 1
            result.orders_created += 1
            result.warnings += item.warnings
    return result
