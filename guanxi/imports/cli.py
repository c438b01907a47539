"""`guanxi import orders PATH …`: parse arguments, find or create the store, run orders_import, print."""

from __future__ import annotations

import json
import sys

from guanxi.imports.formats import FORMATS


def add_import_parser(sub, *, parents) -> None:
    p = sub.add_parser("import", help="import shop exports")
    isub = p.add_subparsers(dest="what", required=True, metavar="WHAT")
    p = isub.add_parser("orders", parents=parents, help="import an order export (Taobao, Shopify, CDNOW, generic)")
    p.add_argument("path")
    p.add_argument("--items", metavar="PATH", help="Taobao item report (宝贝报表) for order lines")
    p.add_argument("--store", required=True, metavar="NAME", help="store to import into (created if missing)")
    p.add_argument("--platform", default=None, help="platform of a new store (default from the format)")
    p.add_argument("--format", choices=FORMATS, default=None, help="default: detected from the header")
    p.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
    p.add_argument("--on-error", choices=("abort", "skip"), default="abort")
    p.add_argument("--rejects", metavar="PATH", help="reject CSV for --on-error skip (default PATH.rejects.csv)")
    p.add_argument("--map", action="append", default=[], metavar="HEADER=COLUMN",
                   help="read a column under another header, e.g. --map 订单号=order_number (generic format)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")


PLATFORM_OF_FORMAT = {"taobao": "taobao", "shopify": "shopify", "cdnow": "own_site", "generic": "own_site"}


def cmd_import(args, *, workspace_for, error) -> int:
    import zoneinfo

    from guanxi.commerce.money import export_currency
    from guanxi.imports.readers import RowError, open_orders
    from guanxi.imports.services import ImportFailed, ImportResult, orders_import
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
            platform = args.platform
            if platform is None:
                try:
                    import zoneinfo

                    fmt = open_orders(args.path, fmt=args.format, tz=zoneinfo.ZoneInfo(workspace.time_zone),
                                      column_map=args.column_map).format
                except RowError:
                    fmt = args.format or "generic"
                platform = PLATFORM_OF_FORMAT[fmt]
            if platform not in Platform.values:
                raise error(f"unknown platform {platform!r} (one of: {', '.join(Platform.values)})")
            if not args.dry_run:
                store = store_create(workspace=workspace, name=args.store, platform=platform,
                                     currency=export_currency(args.path, fmt=args.format, platform=platform,
                                                              tz=zoneinfo.ZoneInfo(workspace.time_zone),
                                                              column_map=args.column_map))
            else:
                store = Store(workspace=workspace, name=args.store, platform=platform, currency=workspace.currency)
        bar = None
        if sys.stderr.isatty() and not args.json:
            from tqdm import tqdm

            bar = tqdm(desc="orders", unit=" orders", unit_scale=True)
        try:
            if store.pk is None:  # dry run into a store that does not exist yet: check the file only
                result = _check_only(args, workspace)
            else:
                result = orders_import(workspace=workspace, store=store, path=args.path, items_path=args.items,
                                       fmt=args.format, dry_run=args.dry_run, on_error=args.on_error,
                                       rejects_path=args.rejects, column_map=args.column_map,
                                       progress=bar.update if bar else None)
        except RowError as exc:  # the file could not be opened at all
            exc = ImportFailed(ImportResult(errors=[exc.as_dict()]), exc)
            if args.json:
                print(json.dumps(exc.result.as_json(), ensure_ascii=False))
            print(f"guanxi: error: {exc.error}", file=sys.stderr)
            print("Nothing was imported.", file=sys.stderr)
            return 1
        except ImportFailed as exc:
            if bar:
                bar.close()
            if args.json:
                print(json.dumps(exc.result.as_json(), ensure_ascii=False))
            print(f"guanxi: error: {exc.error}", file=sys.stderr)
            print("Nothing was imported.", file=sys.stderr)
            return 1
        if bar:
            bar.close()
    if args.json:
        print(json.dumps(result.as_json(), ensure_ascii=False))
        return 0
    print(f"Detected format: {result.format} ({result.encoding})")
    prefix = "Dry run, nothing written: " if args.dry_run else ""
    print(f"{prefix}{result.rows} orders read: {result.orders_created} created, {result.orders_updated} updated, "
          f"{result.orders_unchanged} unchanged; customers {result.customers_created} created, "
          f"{result.customers_matched} matched")
    if result.errors:
        print(f"{len(result.errors)} rows rejected" + (f", see {result.rejects_path}" if result.rejects_path else ""))
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
    return result
