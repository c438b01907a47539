"""`guanxi rates …`: the exchange rates figures across currencies are converted with.

    guanxi rates set CUR RATE [--on YYYY-MM-DD] [--json]   1 CUR = RATE reporting-currency units, from that day
                                                           on (without --on: on every day no dated rate covers)
    guanxi rates list [--json]

Setting a rate rebuilds the segment figures (totals, averages) and refreshes the segments, so that rules on money
see it when the command returns; insight scores follow at the next `guanxi analytics refresh`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json


def add_rates_parser(subparsers, parents=()) -> argparse.ArgumentParser:
    """Add `rates` and its actions to the `guanxi` command's sub-parsers."""
    parser = subparsers.add_parser("rates", parents=list(parents), help="exchange rates to the reporting currency")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = actions.add_parser("set", parents=list(parents), help="set 1 CUR = RATE reporting-currency units")
    p.add_argument("currency", metavar="CUR", help="ISO 4217 code, e.g. USD")
    p.add_argument("rate", metavar="RATE", help="reporting-currency units for 1 CUR, e.g. 7.10")
    p.add_argument("--on", metavar="YYYY-MM-DD", help="from this day on (default: every day)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = actions.add_parser("list", parents=list(parents), help="list the rates")
    p.add_argument("--json", action="store_true", help="print JSON")
    return parser


def _rate_json(rate) -> dict:
    return {"currency": rate.currency, "rate": format(rate.rate.normalize(), "f"),
            "on": rate.valid_from.isoformat() if rate.valid_from else None}


def cmd_rates(args, *, workspace_for, error) -> int:
    from guanxi.workspaces import tenancy
    from guanxi.workspaces.models import ExchangeRate
    from guanxi.workspaces.services import exchange_rate_set

    workspace = workspace_for(args.workspace)
    if args.action == "list":
        with tenancy.active(workspace):
            rates = [_rate_json(rate) for rate in ExchangeRate.objects.all()]
        if args.json:
            print(json.dumps({"reporting_currency": workspace.currency, "rates": rates}))
        else:
            for rate in rates:
                print(f"1 {rate['currency']} = {rate['rate']} {workspace.currency}  from {rate['on'] or 'every day'}")
        return 0
    on = None
    if args.on:
        try:
            on = dt.date.fromisoformat(args.on)
        except ValueError:
            raise error(f"--on: {args.on!r} is not a date (YYYY-MM-DD)") from None
    rate = exchange_rate_set(workspace=workspace, currency=args.currency, rate=args.rate, on=on)
    from guanxi.segments.services import segments_refresh_all

    with tenancy.active(workspace):
        segments_refresh_all()
    if args.json:
        print(json.dumps({**_rate_json(rate), "reporting_currency": workspace.currency, "workspace": workspace.slug}))
    else:
        print(f"1 {rate.currency} = {format(rate.rate.normalize(), 'f')} {workspace.currency} "
              f"from {rate.valid_from or 'every day'}; segment figures refreshed "
              "(insight scores: guanxi analytics refresh)")
    return 0
