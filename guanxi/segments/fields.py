"""The fields a segment rule can test, grouped in families (profile, behaviour, scores, service), with the
operators each accepts, how its value is checked, and how a condition on it becomes a Q object.

Semantics every field shares (tests in tests/test_segments_rules.py hold each of them):

* `!=` and `not_in` are the exact negation of `=` and `in`: a customer with no value matches them.
* `>`, `>=`, `<`, `<=`, `between` (inclusive, `[low, high]`) never match a customer with no value.
* `is_set` / `is_not_set`: has a value (text: non-empty) / has none.
* `contains` on text is a substring match that ignores ASCII case.
* Date operators compare calendar days in the workspace time zone: `= D` is any time on day D, `before D` an
  earlier day, `after D` a later day, `within_last_days N` one of the N days ending on the day of `as_of`
  (N = 1 is that day alone). For date-time columns they become ranges of instants, so indexes serve them.
* Behaviour (order figures) comes from CustomerFacts; a customer without orders counts as 0 orders and 0 paid,
  with no first/last order and no average order value.
* Scores come from insight's CustomerScore, copied into CustomerFacts at each rebuild (which follows every
  analytics refresh); a customer without a score row has none of them.

* Stores are the store links of the last rebuild, kept as bits in the facts row (see `_store`).
* Each field says what its predicate reads (`reads`): the facts only, rows keyed by the customer, or the customer
  row. Rules built of the first two that cannot hold for a customer without facts are counted on CustomerFacts
  alone (rules.compile_matches); a field registered without saying so reads the customer row, which is always
  right.

Other apps add their own fields (e.g. service tickets) with `register_field`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any, Callable

from django.db import connection
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.expressions import RawSQL
from django.db.models.functions import ExtractMonth
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

# Operators ----------------------------------------------------------------------------------------------------

OPERATORS = (
    "=", "!=", ">", ">=", "<", "<=", "in", "not_in", "contains", "between", "is_set", "is_not_set",
    "within_last_days", "before", "after",
)
NO_VALUE_OPS = frozenset({"is_set", "is_not_set"})
LIST_OPS = frozenset({"in", "not_in"})
NEGATED = {"!=": "=", "not_in": "in", "is_not_set": "is_set"}

OPERATOR_LABELS = {
    "=": _("is"), "!=": _("is not"), ">": _("greater than"), ">=": _("at least"), "<": _("less than"),
    "<=": _("at most"), "in": _("is any of"), "not_in": _("is none of"), "contains": _("contains"),
    "between": _("between"), "is_set": _("is set"), "is_not_set": _("is not set"),
    "within_last_days": _("within the last … days"), "before": _("before"), "after": _("after"),
}

MAX_LIST = 1000
MAX_DAYS = 36500


class ValueError_(ValueError):
    """A condition's value does not fit its field and operator; the message says what was expected."""


# Kinds of field -----------------------------------------------------------------------------------------------

TEXT_OPS = ("=", "!=", "in", "not_in", "contains", "is_set", "is_not_set")
CHOICE_OPS = ("=", "!=", "in", "not_in", "is_set", "is_not_set")
INT_OPS = ("=", "!=", ">", ">=", "<", "<=", "between", "in", "not_in", "is_set", "is_not_set")
NUMBER_OPS = ("=", "!=", ">", ">=", "<", "<=", "between", "is_set", "is_not_set")
DATE_OPS = ("=", "!=", ">", ">=", "<", "<=", "between", "before", "after", "within_last_days", "is_set",
            "is_not_set")
BOOL_OPS = ("=", "!=", "is_set", "is_not_set")
SET_OPS = ("=", "!=", "in", "not_in", "is_set", "is_not_set")
PURCHASE_OPS = ("=", "!=", "in", "not_in")


@dataclasses.dataclass(frozen=True)
class Context:
    """What compiling needs besides the rule: the moment rules are evaluated at and the workspace's zone."""

    as_of: dt.datetime
    tz: Any  # zoneinfo.ZoneInfo
    workspace_id: int

    @property
    def today(self) -> dt.date:
        return self.as_of.astimezone(self.tz).date()

    def day_start(self, day: dt.date) -> dt.datetime:
        """The first instant of `day` in the workspace time zone."""
        return dt.datetime.combine(day, dt.time(0), tzinfo=self.tz)


FACTS = "segment_facts"


@dataclasses.dataclass
class Compiled:
    """Collects the aliases (computed columns) conditions refer to while a rule is compiled, and says which model
    the rule is compiled on: Customer (the general query), or CustomerFacts alone (`on_facts`, see rules.py) —
    both have the customer's id as primary key, so EXISTS subqueries correlate on `pk` either way."""

    context: Context
    aliases: dict[str, Any] = dataclasses.field(default_factory=dict)
    on_facts: bool = False

    def alias(self, name: str, expression) -> str:
        self.aliases.setdefault(name, expression)
        return name

    def facts(self, name: str) -> str:
        """The lookup path of CustomerFacts' column `name` from the model the rule is compiled on."""
        return name if self.on_facts else f"{FACTS}__{name}"


# What a field's predicate reads (FieldDef.reads): only CustomerFacts columns (and purchases, written by the same
# rebuild), rows of other tables keyed by the customer (EXISTS on tags, consents, stores…), or the customer row.
READS_FACTS, READS_RELATED, READS_CUSTOMER = "facts", "related", "customer"


@dataclasses.dataclass(frozen=True)
class FieldDef:
    key: str
    family: str  # profile | behaviour | scores | service
    kind: str  # text | choice | int | decimal | float | date | datetime | bool | set | purchase | rank
    label: Any
    ops: tuple[str, ...]
    # Positive predicate for every operator that is not a negation: (op, value, compiled) -> Q.
    predicate: Callable[[str, Any, Compiled], Q]
    # Fixed choices [(value, label)], or None when free or looked up (tags, owners, stores).
    choices: tuple[tuple[str, Any], ...] | None = None
    # Where the UI fetches suggestions from (tags, owners, stores, skus, categories).
    suggest: str = ""
    help: Any = ""
    min_value: Any = None
    max_value: Any = None
    extra_keys: frozenset[str] = frozenset()  # condition keys besides field/op/value (bought_*: "days")
    # READS_CUSTOMER unless the predicate can be compiled on CustomerFacts (fields other apps register default to
    # the general query, which is always right).
    reads: str = READS_CUSTOMER
    # For READS_FACTS fields: the value a customer without a facts row has (0 orders; None: no value).
    default: Any = None

    def without_facts(self, op: str, value: Any) -> bool | None:
        """Whether `op value` holds for a customer who has no facts row (no orders and no scores at the last
        rebuild): True or False for a field that reads only the facts, None (unknown) for any other."""
        if self.reads != READS_FACTS:
            return None
        if op in NEGATED:
            return not _holds(NEGATED[op], self.default, value)
        return _holds(op, self.default, value)

    def compile(self, op: str, value: Any, compiled: Compiled, extra: dict | None = None) -> Q:
        if op in NEGATED:
            return ~self._positive(NEGATED[op], value, compiled, extra)
        return self._positive(op, value, compiled, extra)

    def _positive(self, op, value, compiled, extra):
        if compiled.on_facts and self.reads == READS_CUSTOMER:
            return self._on_customer_row(op, value, compiled, extra)
        if self.extra_keys:
            return self.predicate(op, value, compiled, extra or {})
        return self.predicate(op, value, compiled)

    def _on_customer_row(self, op, value, compiled, extra):
        """On CustomerFacts, a condition on the customer row is an EXISTS on that row (one row per facts row: the
        condition's truth, never unknown); its computed columns live inside the subquery. Workspace and "not
        merged" change nothing (the outer row is the workspace's and live) but let the database use partial
        indexes of live customers."""
        from guanxi.customers.models import Customer

        inner = Compiled(compiled.context)
        q = self._positive(op, value, inner, extra)
        rows = Customer.all_workspaces.filter(pk=OuterRef("pk"), workspace_id=compiled.context.workspace_id,
                                              merged_into__isnull=True)
        if inner.aliases:
            rows = rows.alias(**inner.aliases)
        return Q(Exists(rows.filter(q)))


# Value checking -----------------------------------------------------------------------------------------------


def _text(value) -> str:
    if not isinstance(value, str):
        raise ValueError_(_("Expected text."))
    if len(value) > 500:
        raise ValueError_(_("At most 500 characters."))
    return value


def _int(value) -> int:
    if isinstance(value, bool):
        raise ValueError_(_("Expected a whole number."))
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,15}\s*", value):
        return int(value)
    raise ValueError_(_("Expected a whole number."))


def _decimal(value) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError_(_("Expected a number."))
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError_(_("Expected a number.")) from None
    if not number.is_finite() or abs(number) >= Decimal("1e12"):
        raise ValueError_(_("Expected a number."))
    return number


def _float(value) -> float:
    return float(_decimal(value))


def _date(value) -> dt.date:
    from guanxi.api.input_limits import MAX_YEAR, MIN_YEAR

    if isinstance(value, str):
        try:
            day = dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
        else:
            # The end of 9999-12-31 in the workspace's zone, or the start of 0001-01-01, is no datetime in UTC.
            if not MIN_YEAR <= day.year <= MAX_YEAR:
                raise ValueError_(_("Send a date between the years %(min)s and %(max)s.")
                                  % {"min": MIN_YEAR, "max": MAX_YEAR})
            return day
    raise ValueError_(_("Expected a date as YYYY-MM-DD."))


def _bool(value) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise ValueError_(_("Expected true or false."))


def _days(value) -> int:
    days = _int(value)
    if not 1 <= days <= MAX_DAYS:
        raise ValueError_(_("Expected a number of days from 1 to %(max)s.") % {"max": MAX_DAYS})
    return days


SCALARS = {
    "text": _text, "choice": _text, "int": _int, "decimal": _decimal, "float": _float, "date": _date,
    "datetime": _date, "bool": _bool, "set": _text, "purchase": _text,
}


def check_value(field: FieldDef, op: str, value: Any) -> Any:
    """`value` converted for `field` and `op`; ValueError_ says what was expected instead."""
    if op in NO_VALUE_OPS:
        return None
    if op == "within_last_days":
        return _days(value)
    scalar = SCALARS[field.kind]
    if field.key == "owner":
        scalar = _owner_ref
    if op in LIST_OPS:
        if not isinstance(value, list) or not value:
            raise ValueError_(_("Expected a non-empty list."))
        if len(value) > MAX_LIST:
            raise ValueError_(_("At most %(max)s values.") % {"max": MAX_LIST})
        return [_in_range(field, _in_choices(field, scalar(item))) for item in value]
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise ValueError_(_("Expected a list of two values [low, high]."))
        low, high = (_in_range(field, scalar(item)) for item in value)
        if low > high:
            raise ValueError_(_("The low end is above the high end."))
        return [low, high]
    if op == "contains":
        text = _text(value)
        if not text:
            raise ValueError_(_("Expected some text."))
        return text
    return _in_range(field, _in_choices(field, scalar(value)))


def _owner_ref(value):
    """A member by user id (a number) or username (text)."""
    if isinstance(value, bool):
        raise ValueError_(_("Expected a user id or username."))
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise ValueError_(_("Expected a user id or username."))


def _in_choices(field: FieldDef, value):
    if field.choices is not None and value not in {c for c, _label in field.choices}:
        raise ValueError_(_("Expected one of: %(choices)s.") % {"choices": ", ".join(c for c, _l in field.choices)})
    return value


def _in_range(field: FieldDef, value):
    if field.min_value is not None and value < field.min_value:
        raise ValueError_(_("Expected at least %(min)s.") % {"min": field.min_value})
    if field.max_value is not None and value > field.max_value:
        raise ValueError_(_("Expected at most %(max)s.") % {"max": field.max_value})
    return value


# Predicates ---------------------------------------------------------------------------------------------------

_LOOKUPS = {"=": "exact", ">": "gt", ">=": "gte", "<": "lt", "<=": "lte", "in": "in", "contains": "icontains"}


def _holds(op: str, default, value) -> bool:
    """Whether `default` (what a missing related row stands for) satisfies `op value`; Python-side, for numbers."""
    if default is None:
        return False
    if op == "=":
        return default == value
    if op == "in":
        return default in value
    if op == "between":
        return value[0] <= default <= value[1]
    if op == "is_set":
        return True
    return {">": default > value, ">=": default >= value, "<": default < value, "<=": default <= value}[op]


def _column_q(path: str, op: str, value, text: bool) -> Q:
    if op == "is_set":
        q = Q(**{f"{path}__gt": ""}) if text else Q(**{f"{path}__isnull": False})
    elif op == "between":
        q = Q(**{f"{path}__gte": value[0], f"{path}__lte": value[1]})
    else:
        q = Q(**{f"{path}__{_LOOKUPS[op]}": value})
    # Never NULL, so that NOT(...) of it is true for customers without a value (SQL's NOT NULL is NULL).
    return q & Q(**{f"{path}__isnull": False})


def column(path: str, *, text: bool = False):
    """Predicate on one column of the model the rule is compiled on (`path` may cross a join)."""

    def predicate(op: str, value, compiled: Compiled) -> Q:
        return _column_q(path, op, value, text)

    return predicate


def facts_column(name: str, *, default=None, text: bool = False):
    """Predicate on CustomerFacts' column `name`. `default` is what a customer without a facts row stands for;
    conditions the default satisfies also match those customers (in the general query: on CustomerFacts alone
    there are none)."""

    def predicate(op: str, value, compiled: Compiled) -> Q:
        q = _column_q(compiled.facts(name), op, value, text)
        if not compiled.on_facts and _holds(op, default, value):
            q |= Q(**{f"{FACTS}__isnull": True})
        return q

    return predicate


def alias_column(name: str, expression_factory, *, text: bool = False):
    """Predicate on a computed column, added to the query as an alias once however often it is used."""

    def predicate(op: str, value, compiled: Compiled) -> Q:
        alias = compiled.alias(name, expression_factory(compiled))
        return column(alias, text=text)(op, value, compiled)

    return predicate


def datetime_column(path: str, *, facts: bool = False):
    """Calendar-day predicates on a date-time column (of CustomerFacts with `facts`), as ranges of instants in the
    workspace time zone."""

    column_path = path

    def predicate(op: str, value, compiled: Compiled) -> Q:
        path = compiled.facts(column_path) if facts else column_path
        ctx = compiled.context
        start = ctx.day_start
        one = dt.timedelta(days=1)
        if op == "is_set":
            return Q(**{f"{path}__isnull": False})
        if op == "within_last_days":
            return Q(**{f"{path}__gte": start(ctx.today - dt.timedelta(days=value - 1)),
                        f"{path}__lt": start(ctx.today + one)})
        if op == "between":
            return Q(**{f"{path}__gte": start(value[0]), f"{path}__lt": start(value[1] + one)})
        if op == "=":
            return Q(**{f"{path}__gte": start(value), f"{path}__lt": start(value + one)})
        if op in ("<", "before"):
            return Q(**{f"{path}__lt": start(value)})
        if op == "<=":
            return Q(**{f"{path}__lt": start(value + one)})
        if op in (">", "after"):
            return Q(**{f"{path}__gte": start(value + one)})
        if op == ">=":
            return Q(**{f"{path}__gte": start(value)})
        raise AssertionError(op)

    return predicate


def date_column(path: str):
    """Predicates on a date column (birthdays, custom dates): the same day arithmetic, on dates."""

    def predicate(op: str, value, compiled: Compiled) -> Q:
        today = compiled.context.today
        if op == "is_set":
            return Q(**{f"{path}__isnull": False})
        if op == "within_last_days":
            return Q(**{f"{path}__gt": today - dt.timedelta(days=value), f"{path}__lte": today})
        if op == "between":
            return Q(**{f"{path}__gte": value[0], f"{path}__lte": value[1]})
        lookup = {"=": "exact", "<": "lt", "before": "lt", "<=": "lte", ">": "gt", "after": "gt", ">=": "gte"}[op]
        return Q(**{f"{path}__{lookup}": value})

    return predicate


def days_since_last_order(op: str, value, compiled: Compiled) -> Q:
    """Whole calendar days from the last paid order's day to the day of `as_of`, as ranges of last_order_at."""
    ctx = compiled.context
    path = compiled.facts("last_order_at")

    def day(n: int) -> dt.datetime:  # first instant of the day n days before as_of's day
        return ctx.day_start(ctx.today - dt.timedelta(days=n))

    if op == "is_set":
        return Q(**{f"{path}__isnull": False})
    if op == "=":
        return Q(**{f"{path}__gte": day(value), f"{path}__lt": day(value - 1)})
    if op == "in":
        q = Q(pk__in=[])
        for n in value:
            q |= Q(**{f"{path}__gte": day(n), f"{path}__lt": day(n - 1)})
        return q
    if op == "between":
        return Q(**{f"{path}__gte": day(value[1]), f"{path}__lt": day(value[0] - 1)})
    if op == ">":
        return Q(**{f"{path}__lt": day(value)})
    if op == ">=":
        return Q(**{f"{path}__lt": day(value - 1)})
    if op == "<":
        return Q(**{f"{path}__gte": day(value - 1)})
    if op == "<=":
        return Q(**{f"{path}__gte": day(value)})
    raise AssertionError(op)


def exists(model_path: str, build: Callable[[str, Any, Compiled], Q | None]):
    """Predicate "has a related row matching": EXISTS over `model_path` ("app.Model") correlated by customer.

    `build` returns the filter on that model for the operator and value (None: any row).
    """

    def predicate(op: str, value, compiled: Compiled) -> Q:
        from django.apps import apps

        model = apps.get_model(model_path)
        # Correlated to the outer customer, who is already the active workspace's: the subquery needs no workspace
        # filter of its own, and without one SQLite cannot mistake the workspace index for the customer index.
        rows = model.all_workspaces.filter(customer=OuterRef("pk"))
        condition = build(op, value, compiled)
        if condition is not None:
            rows = rows.filter(condition)
        return Q(Exists(rows))

    return predicate


def _by_name(fk: str, model_path: str):
    """Filter on the rows whose `fk` points at the named objects (tags, stores). Names are turned into ids while
    compiling, so the database sees `tag_id IN (…)`, which its statistics estimate well (a join on the name would
    be guessed as average, and a popular tag then planned as a rare one)."""

    def build(op, value, compiled):
        from django.apps import apps

        if op == "is_set":
            return None
        names = value if op == "in" else [value]
        ids = list(apps.get_model(model_path).objects.filter(name__in=names).values_list("id", flat=True))
        return Q(**{f"{fk}_id__in": ids})

    return build


def _store(op: str, value, compiled: Compiled) -> Q:
    """Bought in, or known to, one of the named stores (any store for is_set), as of the last facts rebuild: a test
    of the stores' bits in the facts row (numbered by the rebuild), not a join with a million store links. Should
    a named store have no bit while the workspace has more stores than bits, the store links are read instead."""
    from guanxi.segments.facts import STORE_BITS
    from guanxi.segments.models import CustomerStore, FactsRebuild
    from guanxi.workspaces.models import Store

    numbers = {int(k): n for k, n in (FactsRebuild.objects.values_list("store_bits", flat=True).first() or {}).items()}
    stores = Store.objects.all() if op == "is_set" else Store.objects.filter(name__in=value if op == "in" else [value])
    ids = list(stores.values_list("id", flat=True))
    if len(numbers) >= STORE_BITS and not set(ids) <= set(numbers):
        return Q(Exists(CustomerStore.all_workspaces.filter(customer=OuterRef("pk"), store_id__in=ids)))
    # A store without a number had no links at the last rebuild (it is newer): it adds nothing.
    mask = sum(1 << numbers[store_id] for store_id in ids if store_id in numbers)
    if not mask:
        return Q(pk__in=[])
    alias = compiled.alias(f"_sg_stores_{mask}", F(compiled.facts("store_bits")).bitand(mask))
    return Q(**{f"{alias}__gt": 0, f"{alias}__isnull": False})


def _owner(op: str, value, compiled: Compiled) -> Q:
    from django.contrib.auth import get_user_model

    if op == "is_set":
        return Q(owner__isnull=False)
    values = value if op == "in" else [value]
    ids = [v for v in values if isinstance(v, int)]
    names = [v for v in values if isinstance(v, str)]
    if names:
        ids += list(get_user_model().objects.filter(username__in=names).values_list("id", flat=True))
    return Q(owner_id__in=ids)


def _consent(channel: str):
    def build(op, value, compiled):
        if op == "is_set":
            return Q(channel=channel)
        return Q(channel=channel, granted=value)

    return exists("customers.Consent", build)


def _purchase(kind: str):
    """Bought, in a paid order, a product of the given SKU / category: ever, or (with "days") on one of the N days
    ending on as_of's day. Read from CustomerPurchase (the paid order lines, as of the last facts rebuild) by one
    range of its (workspace, SKU, placed_at, customer) index. A category stands for the SKUs of its products,
    turned into a list while compiling (a few rows) — the way order lines link their product — so that lines an
    import wrote, which carry the SKU only, count too."""

    def predicate(op: str, value, compiled: Compiled, extra: dict) -> Q:
        from guanxi.commerce.models import Product
        from guanxi.segments.models import CustomerPurchase

        ctx = compiled.context
        skus = value if op == "in" else [value]
        if kind == "category":
            skus = list(Product.objects.filter(category__in=skus).values_list("sku", flat=True))
        # The workspace is named because SKUs are free text other workspaces use too, and it leads the index.
        rows = CustomerPurchase.all_workspaces.filter(workspace_id=ctx.workspace_id, sku__in=skus)
        days = extra.get("days")
        if days:
            rows = rows.filter(placed_at__gte=ctx.day_start(ctx.today - dt.timedelta(days=days - 1)),
                               placed_at__lt=ctx.day_start(ctx.today + dt.timedelta(days=1)))
        if connection.vendor == "sqlite":
            # SQLite runs a correlated EXISTS once per customer, each time reading the SKUs' whole range of the
            # index; an uncorrelated IN list it builds once (customer is never NULL, so NOT IN is exact).
            return Q(pk__in=rows.values("customer_id"))
        # PostgreSQL plans EXISTS as one (anti-)join with the range; NOT IN over a subquery it could not.
        return Q(Exists(rows.filter(customer=OuterRef("pk"))))

    return predicate


def _lifecycle(op: str, value, compiled: Compiled) -> Q:
    """The stage the analytics refresh wrote on the score (copied into the facts); customers it has not scored
    yet keep their profile's.

    Written as "score stage matches, or no score stage and profile stage matches" rather than as one COALESCE
    expression: the database estimates each side from its statistics (a computed column it would guess, and a
    guess of 2,000 for 700,000 rows picks a plan that probes an index 700,000 times).

    On CustomerFacts the profile's stage is read by an EXISTS on the customer row, which the database evaluates
    only for facts rows without a score stage (the OR's first arm settles the others)."""
    stage = compiled.facts("lifecycle_stage")
    # isnull also holds for a customer without a facts row (the join is an outer one).
    no_score_stage = Q(**{f"{stage}__isnull": True}) | Q(**{stage: ""})

    def profile(q: Q) -> Q:
        if not compiled.on_facts:
            return q
        from guanxi.customers.models import Customer

        return Q(Exists(Customer.all_workspaces.filter(q, pk=OuterRef("pk"))))

    if op == "is_set":
        return Q(**{f"{stage}__gt": ""}) | (no_score_stage & profile(Q(lifecycle_stage__gt="")))
    values = value if op == "in" else [value]
    # Never NULL (see `column`): a customer without a score must match the negation when the profile stage does
    # not match.
    scored = Q(**{f"{stage}__in": values, f"{stage}__isnull": False})
    return scored | (no_score_stage & profile(Q(lifecycle_stage__in=values)))


def top_percent(column: str):
    """The predicate "in the top `value` percent of the workspace's scored customers by `column`" (a score
    copied into the facts): exactly k = ⌈n·p/100⌉ customers of the n with a value, ranked by the value
    descending and then by customer id ascending.

    The tie-break matters: most customers of a shop have a CLV of (nearly) zero, and "CLV ≥ the k-th CLV" let
    every one of them in once the k-th was one of them (13,909 of 25,570 customers for "top 10%"). The k-th
    customer of that order is found by scalar subqueries inside the same SQL statement — (n·p − 1) / 100 in
    integer arithmetic is its zero-based offset — and a customer is in when (value, id) comes before or at
    (its value, its id). They read the facts, like the comparison, so both come from the same refresh.
    """

    def predicate(op: str, value, compiled: Compiled) -> Q:
        from guanxi.segments.models import CustomerFacts

        table = CustomerFacts._meta.db_table
        workspace_id, percent = compiled.context.workspace_id, int(value)

        def kth(select: str) -> RawSQL:
            return RawSQL(
                f'(SELECT s.{select} FROM {table} s WHERE s.workspace_id = %s AND s.{column} IS NOT NULL '
                f'ORDER BY s.{column} DESC, s.customer_id ASC LIMIT 1 OFFSET ((SELECT COUNT(*) FROM {table} c '
                f'WHERE c.workspace_id = %s AND c.{column} IS NOT NULL) * %s - 1) / 100)',
                (workspace_id, workspace_id, percent),
            )

        kth_value = compiled.alias(f"_sg_{column}_top_{percent}", kth(column))
        kth_id = compiled.alias(f"_sg_{column}_top_{percent}_id", kth("customer_id"))
        # On Customer the id is `pk`; CustomerFacts' primary key is the customer too.
        path = compiled.facts(column)
        return Q(**{f"{path}__gt": F(kth_value)}) | Q(**{path: F(kth_value), "pk__lte": F(kth_id)})

    return predicate


# The catalogue ------------------------------------------------------------------------------------------------

_REGISTRY: dict[str, FieldDef] = {}


def register_field(field: FieldDef) -> None:
    """Add a field (other apps add theirs, e.g. service tickets); a key can be registered once."""
    if field.key in _REGISTRY:
        raise ValueError(f"segment field {field.key!r} is already registered")
    _REGISTRY[field.key] = field


def _choices(text_choices) -> tuple:
    return tuple((value, label) for value, label in text_choices.choices)


def _builtin_fields() -> None:
    from guanxi.customers.models import Channel, Gender, Lifecycle
    from guanxi.insight.models import ChurnRisk, ValueTier
    from guanxi.segments.catalogue import RFM_SEGMENTS, VALUE_CLASSES

    profile = [
        FieldDef("name", "profile", "text", _("Name"), TEXT_OPS, column("name", text=True)),
        FieldDef("gender", "profile", "choice", _("Gender"), CHOICE_OPS, column("gender", text=True),
                 choices=_choices(Gender)),
        FieldDef("birthday_month", "profile", "int", _("Birthday month"), INT_OPS,
                 alias_column("_sg_birthday_month", lambda c: ExtractMonth("birthday")), min_value=1, max_value=12),
        FieldDef("birthday", "profile", "date", _("Birthday"), DATE_OPS, date_column("birthday")),
        FieldDef("country", "profile", "text", _("Country"), TEXT_OPS, column("country", text=True)),
        FieldDef("province", "profile", "text", _("Province"), TEXT_OPS, column("province", text=True)),
        FieldDef("city", "profile", "text", _("City"), TEXT_OPS, column("city", text=True)),
        FieldDef("district", "profile", "text", _("District"), TEXT_OPS, column("district", text=True)),
        FieldDef("industry", "profile", "text", _("Industry"), TEXT_OPS, column("industry", text=True)),
        FieldDef("tags", "profile", "set", _("Tags"), SET_OPS,
                 exists("customers.CustomerTag", _by_name("tag", "customers.Tag")), suggest="tags",
                 reads=READS_RELATED),
        FieldDef("owner", "profile", "set", _("Owner"), SET_OPS, _owner, suggest="owners",
                 help=_("A member's user id or username.")),
        # Read from the facts (every customer with a store link has a facts row of the same rebuild).
        FieldDef("store", "profile", "set", _("Store"), SET_OPS, _store, suggest="stores",
                 help=_("Bought in, or is known to, the store (by store name)."), reads=READS_FACTS),
        FieldDef("created", "profile", "datetime", _("Created"), DATE_OPS, datetime_column("created_at")),
    ]
    for channel, label in Channel.choices:
        profile.append(FieldDef(f"consent.{channel}", "profile", "bool", format_lazy(_("Consent: {channel}"),
                                channel=label), BOOL_OPS, _consent(channel),
                                help=_("true: consented; false: refused; not set: never asked."),
                                reads=READS_RELATED))

    def fact(key, family, kind, label, ops, predicate=None, *, default=None, text=False, **options) -> FieldDef:
        """A field that reads only CustomerFacts (its column `key` unless another predicate is given)."""
        predicate = predicate or facts_column(key, default=default, text=text)
        return FieldDef(key, family, kind, label, ops, predicate, reads=READS_FACTS, default=default, **options)

    # Money over the customer's orders, each converted at its day's rate (segments/facts.py).
    in_reporting = _("In the workspace's reporting currency; orders without an exchange rate are left out.")
    behaviour = [
        fact("orders_count", "behaviour", "int", _("Orders"), INT_OPS, default=0, min_value=0),
        fact("paid_orders_count", "behaviour", "int", _("Paid orders"), INT_OPS, default=0, min_value=0),
        fact("refunds_count", "behaviour", "int", _("Refunded orders"), INT_OPS, default=0, min_value=0),
        fact("total_paid", "behaviour", "decimal", _("Total paid"), NUMBER_OPS, default=Decimal(0),
             help=in_reporting),
        fact("net_paid", "behaviour", "decimal", _("Net paid (after refunds)"), NUMBER_OPS, default=Decimal(0),
             help=in_reporting),
        fact("refunded", "behaviour", "decimal", _("Refunded amount"), NUMBER_OPS, default=Decimal(0),
             help=in_reporting),
        fact("average_order_value", "behaviour", "decimal", _("Average order value"), NUMBER_OPS,
             help=in_reporting),
        fact("first_order_at", "behaviour", "datetime", _("First order"), DATE_OPS,
             datetime_column("first_order_at", facts=True)),
        fact("last_order_at", "behaviour", "datetime", _("Last order"), DATE_OPS,
             datetime_column("last_order_at", facts=True)),
        fact("days_since_last_order", "behaviour", "int", _("Days since last order"), INT_OPS,
             days_since_last_order),
        # A purchase is a line of a paid order, so its customer has orders and a facts row of the same rebuild.
        fact("bought_sku", "behaviour", "purchase", _("Bought SKU"), PURCHASE_OPS, _purchase("sku"),
             suggest="skus", extra_keys=frozenset({"days"}),
             help=_("Optional \"days\": only purchases within the last N days.")),
        fact("bought_category", "behaviour", "purchase", _("Bought category"), PURCHASE_OPS,
             _purchase("category"), suggest="categories", extra_keys=frozenset({"days"}),
             help=_("Optional \"days\": only purchases within the last N days.")),
    ]

    scores = [
        fact("rfm_r", "scores", "int", _("RFM recency score"), INT_OPS, min_value=1, max_value=5),
        fact("rfm_f", "scores", "int", _("RFM frequency score"), INT_OPS, min_value=1, max_value=5),
        fact("rfm_m", "scores", "int", _("RFM monetary score"), INT_OPS, min_value=1, max_value=5),
        fact("rfm_segment", "scores", "choice", _("RFM segment"), CHOICE_OPS, text=True, choices=RFM_SEGMENTS),
        fact("value_class", "scores", "choice", _("Value class"), CHOICE_OPS, text=True, choices=VALUE_CLASSES),
        fact("value_tier", "scores", "choice", _("Value tier (ABC)"), CHOICE_OPS, text=True,
             choices=_choices(ValueTier)),
        # Falls back to the profile's stage: not a facts-only field.
        FieldDef("lifecycle_stage", "scores", "choice", _("Lifecycle stage"), CHOICE_OPS,
                 _lifecycle, choices=_choices(Lifecycle), reads=READS_RELATED),
        fact("clv", "scores", "decimal", _("Customer lifetime value"), NUMBER_OPS),
        fact("clv_top_percent", "scores", "int", _("CLV rank (top N percent)"), ("<=",), top_percent("clv"),
             min_value=1, max_value=100, help=_("In the top N percent of customers by CLV.")),
        fact("profit_top_percent", "scores", "int", _("Profit rank (top N percent)"), ("<=",),
             top_percent("gross_profit"), min_value=1, max_value=100,
             help=_("In the top N percent of customers by gross profit so far.")),
        fact("p_alive", "scores", "float", _("Still buying (probability)"), NUMBER_OPS, min_value=0, max_value=1),
        fact("buy_again", "scores", "float", _("Will buy again (probability)"), NUMBER_OPS, min_value=0,
             max_value=1),
        fact("churn_risk", "scores", "choice", _("Churn risk"), CHOICE_OPS, text=True, choices=_choices(ChurnRisk)),
        fact("gross_profit", "scores", "decimal", _("Gross profit"), NUMBER_OPS),
    ]
    for field in (*profile, *behaviour, *scores):
        register_field(field)


FAMILIES = (("profile", _("Profile")), ("behaviour", _("Behaviour")), ("scores", _("Scores")),
            ("service", _("Service")))


def fields() -> dict[str, FieldDef]:
    """Every registered field by key (custom fields are per workspace: see custom_field_def)."""
    if not _REGISTRY:
        _builtin_fields()
    return _REGISTRY


CUSTOM_PREFIX = "custom."


def custom_field_def(key: str, field_type: str, label: str, choices: list[str]) -> FieldDef:
    """The rule field `custom.<key>` for a workspace's custom field of type text, number, date or choice."""
    column_name = {"number": "value_number", "date": "value_date"}.get(field_type, "value_text")

    def build(op, value, compiled):
        q = Q(field__key=key)
        if op == "is_set":
            return q & (~Q(value_text="") if column_name == "value_text" else Q(**{f"{column_name}__isnull": False}))
        if field_type == "date":
            return q & date_column(column_name)(op, value, compiled)
        return q & column(column_name, text=column_name == "value_text")(op, value, compiled)

    kind = {"number": "decimal", "date": "date", "choice": "choice"}.get(field_type, "text")
    ops = {"decimal": NUMBER_OPS, "date": DATE_OPS, "choice": CHOICE_OPS}.get(kind, TEXT_OPS)
    return FieldDef(
        f"{CUSTOM_PREFIX}{key}", "profile", kind, label, ops, exists("customers.CustomFieldValue", build),
        choices=tuple((c, c) for c in choices) if kind == "choice" else None, reads=READS_RELATED,
    )
