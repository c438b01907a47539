"""`guanxi segments …`: count what rules match, create, list, refresh and export segments.

    guanxi segments count --rules JSON [--as-of DATE] [--json]          → {"count": n}
    guanxi segments create --name N --rules JSON [--description D] [--json]  → {"id": …, "count": n}
    guanxi segments list [--json]
    guanxi segments refresh [ID] [--as-of DATE] [--json]    (no ID: order figures and every segment)
    guanxi segments export ID --format csv|xlsx --output PATH [--mask-contacts]

`--rules` takes the JSON text, or @PATH to read it from a file. Invalid rules print each problem with its path
in the rule (`all[1].any[0].op: …`) and exit with code 2, like every refusal of the `guanxi` command.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path


def add_segments_parser(subparsers, parents=()) -> argparse.ArgumentParser:
    """Add `segments` and its actions to the `guanxi` command's sub-parsers."""
    parser = subparsers.add_parser("segments", parents=list(parents), help="segments: count, create, refresh, export")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    def action(name: str, help: str) -> argparse.ArgumentParser:
        return actions.add_parser(name, parents=list(parents), help=help)

    p = action("count", "count the customers rules match now")
    p.add_argument("--rules", required=True, help='JSON like {"all": [{"field": …, "op": …, "value": …}]} or @FILE')
    p.add_argument("--as-of", type=_date, help="evaluate as of this day (YYYY-MM-DD; default now)")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = action("create", "save a segment and compute its members")
    p.add_argument("--name", required=True)
    p.add_argument("--rules", required=True, help="JSON rules or @FILE")
    p.add_argument("--description", default="")
    p.add_argument("--as-of", type=_date, help="evaluate as of this day (default now)")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = action("list", "list the segments and their sizes")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = action("refresh", "refresh one segment, or (no ID) the order figures and every segment")
    p.add_argument("id", nargs="?", type=int)
    p.add_argument("--as-of", type=_date, help="evaluate as of this day (default now)")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = action("export", "write a segment's members to a CSV or XLSX file")
    p.add_argument("id", type=int)
    p.add_argument("--format", choices=["csv", "xlsx"], required=True)
    p.add_argument("--output", required=True, metavar="PATH")
    p.add_argument("--mask-contacts", action="store_true", help="mask phones and addresses")
    return parser


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, not {text!r}") from None


def _rules(text: str):
    from guanxi.cli import CliError

    if text.startswith("@"):
        try:
            text = Path(text[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise CliError(f"cannot read the rules file {text[1:]}: {exc.strerror}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"--rules is not valid JSON: {exc}") from None


def cmd_segments(args) -> int:
    """Run `guanxi segments ACTION` in the chosen workspace."""
    from guanxi.cli import _workspace
    from guanxi.workspaces import tenancy

    workspace = _workspace(args.workspace)
    with tenancy.active(workspace):
        return _ACTIONS[args.action](args)


def _count(args) -> int:
    from guanxi.segments.rules import compile_matches
    from guanxi.segments.sql import counting

    with counting():
        count = compile_matches(_rules(args.rules), as_of=args.as_of).count()
    print(json.dumps({"count": count}) if args.json else count)
    return 0


def _create(args) -> int:
    from guanxi.segments.services import segment_create

    segment = segment_create(name=args.name, rules=_rules(args.rules), description=args.description,
                             as_of=args.as_of)
    segment.refresh_from_db()
    if args.json:
        print(json.dumps({"id": segment.pk, "count": segment.member_count}))
    else:
        print(f"Segment {segment.pk} “{segment.name}”: {segment.member_count} customers")
    return 0


def _list(args) -> int:
    from guanxi.segments.selectors import segment_list

    rows = [{"id": s.pk, "name": str(s.display_name), "builtin": s.is_builtin, "count": s.member_count,
             "refreshed_at": s.refreshed_at.isoformat() if s.refreshed_at else None} for s in segment_list()]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
    else:
        for row in rows:
            print(f"{row['id']:>6}  {row['count']:>9}  {row['name']}")
    return 0


def _refresh(args) -> int:
    from guanxi.cli import CliError
    from guanxi.segments.models import Segment
    from guanxi.segments.services import segment_refresh, segments_refresh_all

    if args.id is None:
        summary = segments_refresh_all(as_of=args.as_of)
    else:
        segment = Segment.objects.filter(pk=args.id).first()
        if segment is None:
            raise CliError(f"no segment {args.id} in this workspace")
        summary = segment_refresh(segment=segment, as_of=args.as_of).as_dict()
    if args.json:
        print(json.dumps(summary))
    elif args.id is None:
        print(f"Refreshed {len(summary['segments'])} segments in {summary['seconds']}s"
              + (f"; {len(summary['failed'])} failed" if summary["failed"] else ""))
    else:
        print(f"Segment {args.id}: {summary['size']} members ({summary['entered']} entered, {summary['left']} left)")
    return 0


def _export(args) -> int:
    from guanxi.cli import CliError
    from guanxi.segments.export import export_segment
    from guanxi.segments.models import Segment

    segment = Segment.objects.filter(pk=args.id).first()
    if segment is None:
        raise CliError(f"no segment {args.id} in this workspace")
    try:
        rows = export_segment(segment, fmt=args.format, path=args.output, see_contact=not args.mask_contacts)
    except OSError as exc:
        raise CliError(f"cannot write {args.output}: {exc.strerror}") from None
    print(f"Wrote {rows} members of segment {segment.pk} to {args.output}")
    return 0


_ACTIONS = {"count": _count, "create": _create, "list": _list, "refresh": _refresh, "export": _export}
