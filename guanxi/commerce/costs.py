"""Product costs: set them one by one or from a CSV (`sku,cost[,currency][,from]`), and give every order line of
that SKU the cost valid on its order's day, so the product table's margin and gross-profit figures use them.

A CSV is all or nothing: any bad cell refuses the whole file with its line and column (CostFileError), and the
database is left as it was.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from guanxi.commerce.models import Order, OrderLine, Product, ProductCost
from guanxi.workspaces.tenancy import current_time_zone, current_workspace

COLUMNS = ("sku", "cost", "currency", "from")
REQUIRED = ("sku", "cost")


class CostFileError(Exception):
    """A cost CSV that cannot be used: `path:line: column “c”: message`. Nothing was written."""

    def __init__(self, *, path: str, line: int, column: str, message: str):
        self.path, self.line, self.column, self.message = path, line, column, message
        where = f"column “{column}”: " if column else ""
        super().__init__(f"{path}:{line}: {where}{message}")


@dataclasses.dataclass(frozen=True)
class CostRow:
    line: int
    sku: str
    cost: Decimal
    currency: str
    valid_from: dt.date | None


@dataclasses.dataclass(frozen=True)
class CostImportResult:
    rows: int
    created: int
    updated: int
    lines_costed: int  # order lines whose unit cost was set or changed


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnicodeDecodeError("utf-8", data, 0, 1, "not UTF-8 or GB18030")


def read_cost_rows(data: bytes, *, path: str, default_currency: str) -> list[CostRow]:
    """The rows of a cost CSV (UTF-8, UTF-8 with BOM or GB18030); CostFileError on the first bad cell."""
    try:
        text = _decode(data)
    except UnicodeDecodeError:
        raise CostFileError(path=path, line=1, column="", message="the file is not UTF-8 or GB18030 text") from None
    reader = csv.reader(io.StringIO(text))
    header = [cell.strip().lower() for cell in next(reader, [])]
    if not header:
        raise CostFileError(path=path, line=1, column="", message="the file is empty")
    for name in REQUIRED:
        if name not in header:
            raise CostFileError(path=path, line=1, column=name, message=f"required column “{name}” is missing "
                                "(the header is sku,cost[,currency][,from])")
    unknown = [name for name in header if name not in COLUMNS]
    if unknown:
        raise CostFileError(path=path, line=1, column=unknown[0], message="unknown column (the header is "
                            "sku,cost[,currency][,from])")
    index = {name: i for i, name in enumerate(header)}
    rows, seen = [], {}
    for cells in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        get = lambda name: cells[index[name]].strip() if name in index and index[name] < len(cells) else ""  # noqa: E731
        sku = get("sku")
        if not sku:
            raise CostFileError(path=path, line=line, column="sku", message="the SKU is empty")
        if len(sku) > 100:
            raise CostFileError(path=path, line=line, column="sku", message="longer than 100 characters")
        try:
            cost = Decimal(get("cost").replace(",", "").lstrip("¥$￥"))
        except InvalidOperation:
            raise CostFileError(path=path, line=line, column="cost", message=f"“{get('cost')}” is not an amount") from None
        if not cost.is_finite() or cost < 0 or cost >= Decimal("1e12"):
            raise CostFileError(path=path, line=line, column="cost", message=f"“{get('cost')}” is not a "
                                "non-negative amount")
        currency = (get("currency") or default_currency).upper()
        if len(currency) != 3 or not currency.isalpha():
            raise CostFileError(path=path, line=line, column="currency", message=f"“{currency}” is not a "
                                "three-letter currency code (e.g. CNY, USD)")
        valid_from = None
        if get("from"):
            try:
                valid_from = dt.date.fromisoformat(get("from"))
            except ValueError:
                raise CostFileError(path=path, line=line, column="from", message=f"“{get('from')}” is not a "
                                    "date (YYYY-MM-DD)") from None
        key = (sku, valid_from)
        if key in seen:
            raise CostFileError(path=path, line=line, column="sku", message=f"{sku} from {valid_from or 'always'} "
                                f"is already on line {seen[key]}")
        seen[key] = line
        rows.append(CostRow(line=line, sku=sku, cost=cost.quantize(Decimal("0.01")), currency=currency,
                            valid_from=valid_from))
    return rows


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=current_time_zone())


def apply_known_costs() -> int:
    """`apply_costs` for every SKU that has a cost: after an import, so its new lines get theirs at once."""
    return apply_costs(set(ProductCost.objects.values_list("sku", flat=True).distinct()))


def apply_costs(skus: set[str]) -> int:
    """Give every order line of `skus` the unit cost valid on its order's day (in the cost's currency; none →
    null), and each catalogue product its cost valid today. Returns the number of lines updated."""
    changed = 0
    today = dt.datetime.now(current_time_zone()).date()
    for sku in sorted(skus):
        periods = sorted(ProductCost.objects.filter(sku=sku), key=lambda c: c.valid_from or dt.date.min)
        of_sku = OrderLine.objects.filter(Q(sku=sku) | Q(product__sku=sku))
        # Lines before the first period, or in a period of another currency, have no known cost.
        first = periods[0].valid_from if periods else None
        if first is not None:
            changed += of_sku.exclude(unit_cost__isnull=True).filter(order__placed_at__lt=_midnight(first)).update(unit_cost=None)
        for i, period in enumerate(periods):
            in_period = of_sku
            if period.valid_from is not None:
                in_period = in_period.filter(order__placed_at__gte=_midnight(period.valid_from))
            if i + 1 < len(periods):
                in_period = in_period.filter(order__placed_at__lt=_midnight(periods[i + 1].valid_from))
            orders = Order.objects.filter(currency=period.currency).values("id")
            changed += in_period.filter(order_id__in=orders).exclude(unit_cost=period.cost).update(unit_cost=period.cost)
            changed += (in_period.exclude(order_id__in=orders).exclude(unit_cost__isnull=True)
                        .update(unit_cost=None))
        current = [c for c in periods if c.valid_from is None or c.valid_from <= today]
        if not periods:
            changed += of_sku.exclude(unit_cost__isnull=True).update(unit_cost=None)
        Product.objects.filter(sku=sku).update(cost=current[-1].cost if current else None)
    return changed


@transaction.atomic
def product_cost_set(*, sku: str, cost: Decimal, currency: str = "", valid_from: dt.date | None = None
                     ) -> tuple[ProductCost, bool]:
    """Set what `sku` costs from `valid_from` (None: always) and re-cost its order lines. → (row, created)."""
    workspace = current_workspace()
    row = ProductCost.objects.filter(sku=sku.strip(), valid_from=valid_from).first()
    created = row is None
    row = row or ProductCost(workspace=workspace, sku=sku.strip(), valid_from=valid_from)
    row.cost, row.currency = cost, (currency or workspace.currency).upper()
    row.full_clean(exclude=["workspace"], validate_unique=False, validate_constraints=False)
    if len(row.currency) != 3 or not row.currency.isalpha():
        raise ValidationError({"currency": _("A three-letter currency code, e.g. CNY or USD.")})
    row.save()
    apply_costs({row.sku})
    return row, created


@transaction.atomic
def product_cost_delete(*, cost: ProductCost) -> None:
    """Remove one cost period; the SKU's lines are re-costed from the periods left."""
    sku = cost.sku
    cost.delete()
    apply_costs({sku})


@transaction.atomic
def product_costs_import(*, data: bytes, path: str) -> CostImportResult:
    """Read a cost CSV and set every row, all or nothing (CostFileError names line and column)."""
    workspace = current_workspace()
    rows = read_cost_rows(data, path=path, default_currency=workspace.currency)
    existing = {(c.sku, c.valid_from): c for c in ProductCost.objects.filter(sku__in={r.sku for r in rows})}
    created = updated = 0
    for row in rows:
        cost = existing.get((row.sku, row.valid_from))
        if cost is None:
            cost = ProductCost(workspace=workspace, sku=row.sku, valid_from=row.valid_from)
            created += 1
        elif (cost.cost, cost.currency) != (row.cost, row.currency):
            updated += 1
        else:
            continue
        cost.cost, cost.currency = row.cost, row.currency
        cost.save()
    lines = apply_costs({r.sku for r in rows})
    return CostImportResult(rows=len(rows), created=created, updated=updated, lines_costed=lines)


def product_costs_import_file(*, path: str | Path) -> CostImportResult:
    """`product_costs_import` of a file on disk (CostFileError when it cannot be read)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise CostFileError(path=str(path), line=0, column="", message=exc.strerror or str(exc)) from None
    return product_costs_import(data=data, path=str(path))
