"""Reads about segments: live previews of rules, members with sortable scores, who entered and left when, sizes
over time, and the field catalogue the rule builders show."""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo

from django.db.models import F, Prefetch, QuerySet
from django.utils.encoding import force_str

from guanxi.customers.models import Customer, CustomField, CustomerTag, Identity, IdentityKind
from guanxi.segments.facts import facts_rebuilt_at
from guanxi.segments.fields import FAMILIES, OPERATOR_LABELS, custom_field_def, fields
from guanxi.segments.models import Segment, SegmentMember, SegmentSize
from guanxi.segments.rules import compile_matches, resolve_as_of
from guanxi.segments.sql import counting
from guanxi.workspaces.tenancy import current_workspace

PREVIEW_SAMPLE = 10


@dataclasses.dataclass(frozen=True)
class Preview:
    count: int
    sample: list[Customer]
    as_of: dt.datetime
    facts_rebuilt_at: dt.datetime | None  # behaviour figures are as of this rebuild


def with_insight(customers: QuerySet[Customer]) -> QuerySet[Customer]:
    """Customers with their scores and order figures joined in (one query for a page of them)."""
    return customers.select_related("score", "segment_facts", "owner")


def segment_preview(*, rules: dict, as_of: dt.datetime | dt.date | None = None,
                    sample: int = PREVIEW_SAMPLE) -> Preview:
    """The exact number of customers `rules` match as of `as_of`, and `sample` of them (two queries).

    Raises RulesInvalid for rules that do not validate.
    """
    as_of = resolve_as_of(as_of, zoneinfo.ZoneInfo(current_workspace().time_zone))
    matches = compile_matches(rules, as_of=as_of)
    with counting():
        count = matches.count()
        # Any `sample` of them, in no order: "the newest" would make the database walk the whole customer table
        # backwards when few customers match.
        some = matches.order_by().values("pk")[:sample]
        members = list(with_insight(Customer.objects.filter(pk__in=some))) if count and sample else []
    return Preview(count=count, sample=members, as_of=as_of, facts_rebuilt_at=facts_rebuilt_at())


def segment_list() -> QuerySet[Segment]:
    return Segment.objects.select_related("owner")


def segment_get(segment_id: int) -> Segment:
    """The active workspace's segment; Segment.DoesNotExist (→ 404) for any other id."""
    return Segment.objects.select_related("owner").get(pk=segment_id)


# Sort keys the member list offers, each to a column; descending puts customers without a value last.
MEMBER_SORTS = {
    "name": "customer__name",
    "entered": "entered_at",
    "clv": "customer__score__clv",
    "p_alive": "customer__score__p_alive",
    "churn_risk": "customer__score__churn_risk",
    "rfm_r": "customer__score__rfm_r",
    "rfm_f": "customer__score__rfm_f",
    "rfm_m": "customer__score__rfm_m",
    "rfm_segment": "customer__score__rfm_segment",
    "value_class": "customer__score__value_class",
    "total_paid": "customer__segment_facts__total_paid",
    "orders": "customer__segment_facts__paid_orders_count",
    "last_order": "customer__segment_facts__last_order_at",
}
DEFAULT_SORT = "-clv"


def member_sort(sort: str) -> str:
    """`sort` if it is one the list offers ("clv", "-clv", …), else the default."""
    return sort if sort.lstrip("-") in MEMBER_SORTS else DEFAULT_SORT


def segment_members(segment: Segment, *, sort: str = DEFAULT_SORT) -> QuerySet[SegmentMember]:
    """The segment's current members (their open stays), each with customer, score and order figures joined."""
    sort = member_sort(sort)
    column = MEMBER_SORTS[sort.lstrip("-")]
    order = F(column).desc(nulls_last=True) if sort.startswith("-") else F(column).asc(nulls_last=True)
    return (
        SegmentMember.objects.filter(segment=segment, left_at__isnull=True)
        .select_related("customer", "customer__score", "customer__segment_facts", "customer__owner")
        .order_by(order, "customer_id")
    )


def members_with_contacts(members: QuerySet[SegmentMember]) -> QuerySet[SegmentMember]:
    """Members with their tags, phones and emails prefetched (exports)."""
    return members.prefetch_related(
        Prefetch("customer__customer_tags", queryset=CustomerTag.objects.select_related("tag")),
        Prefetch("customer__identities",
                 queryset=Identity.objects.filter(kind__in=[IdentityKind.PHONE, IdentityKind.EMAIL])),
    )


def segment_changes(segment: Segment, *, kind: str = "entered", since: dt.datetime | None = None,
                    until: dt.datetime | None = None) -> QuerySet[SegmentMember]:
    """Stays that began (kind "entered") or ended ("left") in [since, until): "who joined At Risk this week"."""
    column = "entered_at" if kind == "entered" else "left_at"
    stays = SegmentMember.objects.filter(segment=segment).select_related("customer")
    if kind == "left":
        stays = stays.filter(left_at__isnull=False)
    if since is not None:
        stays = stays.filter(**{f"{column}__gte": since})
    if until is not None:
        stays = stays.filter(**{f"{column}__lt": until})
    return stays.order_by(f"-{column}", "-id")


def segment_sizes(segment: Segment, *, limit: int = 365) -> list[SegmentSize]:
    """The segment's size after each of its last `limit` refreshes, oldest first (the size-over-time chart)."""
    return list(reversed(SegmentSize.objects.filter(segment=segment).order_by("-at", "-id")[:limit]))


def customer_segments(customer: Customer) -> QuerySet[Segment]:
    """The segments a customer is in now (for the customer's page)."""
    return Segment.objects.filter(memberships__customer=customer, memberships__left_at__isnull=True)


def field_catalogue() -> list[dict]:
    """Every field a rule can use in the active workspace, for rule builders: key, family, kind, label, operators
    (with labels), fixed choices and where suggestions come from. Labels are in the active language."""

    def describe(field) -> dict:
        return {
            "key": field.key, "family": field.family, "kind": field.kind, "label": force_str(field.label),
            "ops": [{"op": op, "label": force_str(OPERATOR_LABELS[op])} for op in field.ops],
            "choices": [{"value": v, "label": force_str(label)} for v, label in field.choices]
            if field.choices is not None else None,
            "suggest": field.suggest, "help": force_str(field.help),
            "min": field.min_value, "max": field.max_value, "extra": sorted(field.extra_keys),
        }

    items = [describe(field) for field in fields().values()]
    for key, field_type, label, choices in CustomField.objects.values_list("key", "field_type", "label", "choices"):
        items.append(describe(custom_field_def(key, field_type, label, choices or [])))
    order = {family: index for index, (family, _label) in enumerate(FAMILIES)}
    return sorted(items, key=lambda item: order.get(item["family"], 99))


def family_labels() -> dict[str, str]:
    return {family: force_str(label) for family, label in FAMILIES}

