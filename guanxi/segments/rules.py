"""Segment rules: JSON checked against the field catalogue, then compiled to one customer query.

    RULES = {"all": [COND | GROUP, ...]} | {"any": [COND | GROUP, ...]}       (groups nest)
    COND  = {"field": F, "op": OP, "value": V}                            (+ "days" for bought_sku/category)

Every problem is reported at its exact path in the rule, e.g. `all[1].any[0].op`, all at once. `{"all": []}` is
every customer, `{"any": []}` none. Compiling needs the active workspace (its custom fields, its time zone) and
an `as_of` (default now); the result is a Customer queryset — a single SQL statement however the rule is nested.

Counts and refreshes use `compile_matches`, which gives the same customers' ids in one statement too, but driven
by CustomerFacts when the rule allows it: when it cannot hold for a customer without a facts row and reads at
most one column of the customer row (the rest being facts, and rows keyed by the customer such as tags) — then
joining a million customers to a million facts rows only to drop the merged-away ones is replaced by an anti-join
with the few merged-away customers (an index range on `merged_into`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.customers.models import Customer
from guanxi.insight.models import AnalyticsAsOf
from guanxi.segments.fields import (
    CUSTOM_PREFIX, NO_VALUE_OPS, OPERATORS, READS_CUSTOMER, Compiled, Context, FieldDef, ValueError_, check_value,
    custom_field_def, fields,
)
from guanxi.workspaces.tenancy import current_workspace

MAX_DEPTH = 6
MAX_CONDITIONS = 100
GROUP_KEYS = ("all", "any")
CONDITION_KEYS = frozenset({"field", "op", "value"})


class RulesInvalid(ValidationError):
    """Rules that do not validate; `message_dict` maps each path in the rule to its messages."""


@dataclasses.dataclass(frozen=True)
class Condition:
    field: FieldDef
    op: str
    value: Any
    extra: dict
    path: str


@dataclasses.dataclass(frozen=True)
class Group:
    kind: str  # all | any
    items: tuple


def _custom_fields() -> dict[str, FieldDef]:
    from guanxi.customers.models import CustomField

    return {
        f"{CUSTOM_PREFIX}{key}": custom_field_def(key, field_type, label, choices or [])
        for key, field_type, label, choices in CustomField.objects.values_list("key", "field_type", "label",
                                                                               "choices")
    }


class _Parser:
    def __init__(self):
        self.errors: dict[str, list[str]] = {}
        self.conditions = 0
        self._custom: dict[str, FieldDef] | None = None

    def error(self, path: str, message: str) -> None:
        self.errors.setdefault(path or NON_FIELD_ERRORS, []).append(str(message))

    def field(self, key: str) -> FieldDef | None:
        if key.startswith(CUSTOM_PREFIX):
            if self._custom is None:
                self._custom = _custom_fields()
            return self._custom.get(key)
        return fields().get(key)

    def node(self, node: Any, path: str, depth: int):
        if isinstance(node, dict) and any(k in node for k in GROUP_KEYS):
            return self.group(node, path, depth)
        if isinstance(node, dict) and "field" in node:
            return self.condition(node, path)
        self.error(path, _("Expected a condition {\"field\", \"op\", \"value\"} or a group {\"all\": [...]} / "
                           "{\"any\": [...]}."))
        return None

    def group(self, node: Any, path: str, depth: int) -> Group | None:
        if not isinstance(node, dict):
            self.error(path, _("Expected an object {\"all\": [...]} or {\"any\": [...]}."))
            return None
        kinds = [k for k in GROUP_KEYS if k in node]
        if len(kinds) != 1:
            self.error(path, _("A group has exactly one of \"all\" and \"any\"."))
            return None
        kind = kinds[0]
        for key in node:
            if key != kind:
                self.error(_join(path, key), _("Unknown key; a group has only \"%(kind)s\".") % {"kind": kind})
        if depth >= MAX_DEPTH:
            self.error(path, _("Groups nest at most %(max)s deep.") % {"max": MAX_DEPTH})
            return None
        items = node[kind]
        list_path = _join(path, kind)
        if not isinstance(items, list):
            self.error(list_path, _("Expected a list."))
            return None
        parsed = [self.node(item, f"{list_path}[{index}]", depth + 1) for index, item in enumerate(items)]
        return Group(kind, tuple(parsed))

    def condition(self, node: dict, path: str) -> Condition | None:
        self.conditions += 1
        if self.conditions == MAX_CONDITIONS + 1:
            self.error(path, _("A rule has at most %(max)s conditions.") % {"max": MAX_CONDITIONS})
        key = node.get("field")
        field = self.field(key) if isinstance(key, str) else None
        if field is None:
            self.error(_join(path, "field"), _("Unknown field %(field)s.") % {"field": _repr(key)})
        for extra_key in node:
            if extra_key not in CONDITION_KEYS and (field is None or extra_key not in field.extra_keys):
                self.error(_join(path, extra_key), _("Unknown key."))
        op = node.get("op")
        if op not in OPERATORS:
            self.error(_join(path, "op"), _("Unknown operator %(op)s; operators are: %(ops)s.")
                       % {"op": _repr(op), "ops": " ".join(OPERATORS)})
            return None
        if field is None:
            return None
        if op not in field.ops:
            self.error(_join(path, "op"), _("%(field)s does not take %(op)s; it takes: %(ops)s.")
                       % {"field": field.key, "op": op, "ops": " ".join(field.ops)})
            return None
        if op not in NO_VALUE_OPS and "value" not in node:
            self.error(_join(path, "value"), _("This operator needs a value."))
            return None
        try:
            value = check_value(field, op, node.get("value"))
        except ValueError_ as exc:
            self.error(_join(path, "value"), str(exc))
            return None
        extra = {}
        if "days" in field.extra_keys and node.get("days") is not None:
            try:
                extra["days"] = check_value(field, "within_last_days", node["days"])
            except ValueError_ as exc:
                self.error(_join(path, "days"), str(exc))
                return None
        return Condition(field, op, value, extra, path)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _repr(value) -> str:
    return f"“{value}”" if isinstance(value, str) else repr(value)


def parse_rules(rules: Any) -> Group:
    """The checked rule tree, or RulesInvalid listing every problem by its path in the rule."""
    parser = _Parser()
    tree = parser.group(rules, "", 0)
    if parser.errors or tree is None:
        raise RulesInvalid(parser.errors or {NON_FIELD_ERRORS: [_("Invalid rules.")]})
    return tree


def validate_rules(rules: Any) -> None:
    """Raise RulesInvalid (a ValidationError keyed by rule paths) unless `rules` is a valid rule."""
    parse_rules(rules)


def _compile(node, compiled: Compiled) -> Q:
    if isinstance(node, Condition):
        return node.field.compile(node.op, node.value, compiled, node.extra)
    if node.kind == "all":
        q = Q()
        for item in node.items:
            q &= _compile(item, compiled)
        return q
    q = Q(pk__in=[])  # an empty "any" matches nobody
    for item in node.items:
        q |= _compile(item, compiled)
    return q


def resolve_as_of(as_of: dt.datetime | dt.date | None, tz) -> dt.datetime:
    """An aware moment; a date means the end of that day in the workspace time zone. By default: the end of the
    active workspace's fixed analytics day when it has one (`AnalyticsAsOf`, e.g. CDNOW's 1998-06-30), else now,
    so that "days since the last order" counts from the day insight scores as of, in refreshes and previews."""
    if as_of is None:
        fixed = AnalyticsAsOf.objects.values_list("as_of", flat=True).first()
        if fixed is None:
            return timezone.now()
        as_of = fixed
    if not isinstance(as_of, dt.datetime):
        return dt.datetime.combine(as_of, dt.time.max, tzinfo=tz)
    if timezone.is_naive(as_of):
        return as_of.replace(tzinfo=tz)
    return as_of


def base_customers() -> QuerySet[Customer]:
    """Every customer a segment can hold: those of the active workspace not merged into another."""
    return Customer.objects.filter(merged_into__isnull=True)


def _context(as_of) -> Context:
    workspace = current_workspace()
    tz = zoneinfo.ZoneInfo(workspace.time_zone)
    return Context(as_of=resolve_as_of(as_of, tz), tz=tz, workspace_id=workspace.pk)


def _on(queryset: QuerySet, tree: Group, compiled: Compiled) -> QuerySet:
    q = _compile(tree, compiled)
    if compiled.aliases:
        queryset = queryset.alias(**compiled.aliases)
    return queryset.filter(q)


def compile_rules(rules: Any, *, as_of: dt.datetime | dt.date | None = None) -> QuerySet[Customer]:
    """The customers of the active workspace matching `rules` as of `as_of`, as one lazily evaluated query."""
    return _on(base_customers(), parse_rules(rules), Compiled(_context(as_of)))


def _customer_conditions(node) -> int:
    if isinstance(node, Condition):
        return int(node.field.reads == READS_CUSTOMER)
    return sum(_customer_conditions(item) for item in node.items)


def _without_facts(node) -> bool | None:
    """Whether the rule holds for a customer without a facts row: True, False, or None when it depends on what
    else is known of the customer (three-valued: False and unknown is False, True or unknown is True)."""
    if isinstance(node, Condition):
        return node.field.without_facts(node.op, node.value)
    values = [_without_facts(item) for item in node.items]
    settles, other = (False, True) if node.kind == "all" else (True, False)
    if settles in values:
        return settles
    return other if all(value is other for value in values) else None


def facts_only(tree: Group) -> bool:
    """Whether the rule's customers are exactly the live customers' facts rows it matches (see module doc).

    One condition on the customer row (an owner, a province) is then an EXISTS on that row; with two or more the
    general query, which reads the customer row once, is the better plan."""
    return _customer_conditions(tree) <= 1 and _without_facts(tree) is False


def live_facts() -> QuerySet:
    """The active workspace's facts rows of customers not merged into another.

    A merged-away customer keeps the facts row of the last rebuild until the next one; the anti-join reads the
    merged-away customers from the `merged_into` index, so it costs what the merges cost, not what the customers do.
    """
    from guanxi.segments.models import CustomerFacts

    merged_away = Customer.all_workspaces.filter(pk=OuterRef("pk"), merged_into__isnull=False)
    return CustomerFacts.objects.filter(~Exists(merged_away))


def compile_matches(rules: Any, *, as_of: dt.datetime | dt.date | None = None) -> QuerySet:
    """The customers `rules` match as of `as_of`, as one query whose primary keys are their ids: CustomerFacts rows
    when the rule allows it (`facts_only`), else the Customers of `compile_rules`. For counts and id lists; the
    result is the same set either way (tests/test_segments_fast_path.py)."""
    tree = parse_rules(rules)
    if facts_only(tree):
        return _on(live_facts(), tree, Compiled(_context(as_of), on_facts=True))
    return _on(base_customers(), tree, Compiled(_context(as_of)))
