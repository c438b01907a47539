"""`guanxi customers …`: maintenance of the customer records.

    guanxi customers backfill-addresses [--json]   → {"orders_filled": n, "customers_changed": m}
"""

from __future__ import annotations

import json


def add_customers_parser(sub, *, parents) -> None:
    p = sub.add_parser("customers", help="customer records: maintenance")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = actions.add_parser("backfill-addresses", parents=parents,
                           help="fill orders' address parts from Taobao/Tmall addresses already imported and give "
                                "each customer their latest order's address (staff-set addresses are kept)")
    p.add_argument("--json", action="store_true", help="print JSON")


def cmd_customers(args, *, workspace_for) -> int:
    from guanxi.imports.customer_addresses import addresses_backfill
    from guanxi.workspaces import tenancy

    workspace = workspace_for(args.workspace)
    with tenancy.active(workspace):
        result = addresses_backfill(workspace=workspace)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['orders_filled']} orders' addresses read; {result['customers_changed']} customers "
              f"given their latest order's address")
    return 0
