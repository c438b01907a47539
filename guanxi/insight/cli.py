"""`guanxi analytics …`: refresh a workspace's scores, or fit the purchase models on a file.

    guanxi analytics refresh [--as-of DATE] [--json]
    guanxi analytics fit PATH --format cdnow|cdnow-sample|taobao|shopify|generic --calibration-end DATE
                         [--observation-end DATE] [--scores OUT.csv] [--json]

`fit` touches no workspace: it reads the file, fits BG/NBD, Pareto/NBD and Gamma-Gamma (time in weeks) and, when
the file runs past the calibration end, reports holdout predictions and the "will buy again" ROC AUCs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def add_analytics_parser(subparsers, parents=()) -> argparse.ArgumentParser:
    """Add `analytics` and its actions to the `guanxi` command's sub-parsers."""
    parser = subparsers.add_parser("analytics", parents=list(parents), help="customer insight: refresh scores, fit")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = actions.add_parser("refresh", parents=list(parents), help="score every customer of the workspace")
    p.add_argument("--as-of", type=_date, help="last day included (default today in the workspace time zone)")
    p.add_argument("--json", action="store_true", help="print the run summary as JSON")
    p = actions.add_parser("fit", help="fit the purchase and spend models on a file (no workspace involved)")
    p.add_argument("path")
    p.add_argument("--format", required=True, choices=["cdnow", "cdnow-sample", "taobao", "shopify", "generic"])
    p.add_argument("--calibration-end", type=_date, required=True)
    p.add_argument("--observation-end", type=_date)
    p.add_argument("--scores", metavar="OUT.csv", help="write one row of scores per customer")
    p.add_argument("--json", action="store_true", help="print JSON (the default output)")
    return parser


def cmd_analytics(args, *, workspace_for, error) -> int:
    """Run `guanxi analytics ACTION`; `workspace_for(slug)` and `error(message)` come from the main CLI."""
    if args.action == "fit":
        from guanxi.analytics.errors import AnalyticsError
        from guanxi.analytics.fit_file import fit_file
        from guanxi.insight.file_readers import register_export_readers

        register_export_readers()
        try:
            result = fit_file(args.path, args.format, args.calibration_end, args.observation_end, args.scores)
        except (AnalyticsError, ValueError, OSError) as exc:
            raise error(f"{args.path}: {exc}") from None
        print(json.dumps(result))
        return 0

    from guanxi.insight.services import insight_refresh
    from guanxi.workspaces import tenancy

    workspace = workspace_for(args.workspace)
    with tenancy.active(workspace):
        run = insight_refresh(as_of=args.as_of)
    if args.json:
        print(json.dumps({"run": run.pk, "status": run.status, **run.summary}))
    else:
        counts = run.summary.get("counts", {})
        print(f"refreshed {run.summary.get('customers', 0)} customers of {workspace.slug} as of "
              f"{run.summary.get('as_of')}")
        for name, by_code in counts.items():
            print(f"  {name}: " + ", ".join(f"{code} {n}" for code, n in by_code.items()))
        for model, reason in run.summary.get("model_errors", {}).items():
            print(f"  {model} not fitted: {reason}")
    return 0
