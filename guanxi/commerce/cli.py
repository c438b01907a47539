"""`guanxi products costs FILE.csv --workspace WS [--json]`: what each SKU costs, from a CSV.

The header is `sku,cost[,currency][,from]` (currency default: the workspace's; from: YYYY-MM-DD, default: always).
A bad cell refuses the whole file with its line and column (exit 2) and changes nothing.
"""

from __future__ import annotations

import json


def add_products_parser(sub, *, parents) -> None:
    p = sub.add_parser("products", help="product catalogue facts: costs")
    psub = p.add_subparsers(dest="what", required=True, metavar="WHAT")
    p = psub.add_parser("costs", parents=parents, help="set product costs from a CSV (sku,cost[,currency][,from])")
    p.add_argument("path", metavar="FILE.csv")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")


def cmd_products(args, *, workspace_for, error) -> int:
    from guanxi.commerce.costs import CostFileError, product_costs_import_file
    from guanxi.workspaces import tenancy

    workspace = workspace_for(getattr(args, "workspace", None))
    with tenancy.active(workspace):
        try:
            result = product_costs_import_file(path=args.path)
        except CostFileError as exc:
            raise error(str(exc)) from None
    summary = {"rows": result.rows, "created": result.created, "updated": result.updated,
               "lines_costed": result.lines_costed}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{result.rows} costs read: {result.created} new, {result.updated} changed; "
              f"{result.lines_costed} order lines re-costed")
    return 0
