"""Readers for shop exports: each turns one file into a stream of `OrderRow`s, or a `RowError` naming the file,
line, column and problem.

Formats (detected from the header when not given):

* ``taobao``  — the seller order report (订单报表), optionally with the item report (宝贝报表) for order lines.
* ``shopify`` — the orders export: one row per line item, order fields on an order's first row only.
* ``cdnow``   — ``CDNOW_master.txt`` (header, 4 columns) or ``CDNOW_sample.txt`` (no header, 5 columns).
* ``generic`` — a CSV or XLSX with these columns (header names, case-insensitive):
  ``order_number`` (required), ``created`` (required), ``amount`` (required), ``status`` (required: one of
  pending_payment, paid, shipped, completed, closed, refunded, partially_refunded), ``customer_id``,
  ``customer_name``, ``phone``, ``email``, ``paid`` (a date), ``refunded``, ``currency``, ``sku``, ``title``,
  ``quantity``, ``unit_price``, and for the shipping address ``country`` (an ISO 3166 code such as CN or US, or
  a common name), ``province``, ``city``, ``district``, ``postcode``, ``address``. Rows repeating an order
  number add lines to it. Other headers can be mapped onto these names with `column_map`.

Text files may be GBK, GB18030, UTF-8 or UTF-8 with a BOM. Dates are ``2023-07-12 10:23:45`` or ``2023/7/12
10:23`` (in the workspace's time zone unless they carry an offset, like Shopify's ``-0500``, or ``Z``; ISO
``2023-07-12T10:23:45.5Z`` too). Local times are resolved once, as zoneinfo's fold=0 reads them: a time the
clocks skipped (the spring gap) is read with the offset before the change, so 02:30 becomes 03:30 summer time;
a time that happens twice (the autumn fold) is the first one, still in summer time. Each such cell adds a
warning naming its line and column (`OrderRow.warnings`); every time comes out in UTC.

Amounts must fit the money columns (at most 999,999,999,999.99) and order numbers the number column (64
characters): a longer one is refused with its line, never rounded or cut.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import functools
import io
import re
import zoneinfo
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Callable, Iterator

from guanxi.commerce.models import MONEY, Order, OrderStatus
from guanxi.imports import addresses
from guanxi.imports.formats import FORMATS

SNIFF_BYTES = 64 * 1024
csv.field_size_limit(10 * 1024 * 1024)


class RowError(Exception):
    """A problem in the file: where it is and what it is."""

    def __init__(self, *, path: str, line: int, column: str, message: str, row: list[str] | None = None):
        super().__init__(f"{path}, line {line}, column {column or '-'}: {message}")
        self.path, self.line, self.column, self.message, self.row = str(path), line, column, message, row

    def as_dict(self) -> dict:
        return {"line": self.line, "column": self.column, "message": self.message}


@dataclasses.dataclass
class LineRow:
    title: str
    quantity: int = 1
    unit_price: Decimal = Decimal("0")
    sku: str = ""


@dataclasses.dataclass
class OrderRow:
    line: int
    number: str
    status: str
    placed_at: dt.datetime
    paid_amount: Decimal = Decimal("0")
    goods_amount: Decimal = Decimal("0")
    shipping_amount: Decimal = Decimal("0")
    discount_amount: Decimal = Decimal("0")
    refunded_amount: Decimal = Decimal("0")
    currency: str = ""
    paid_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    # Who bought: platform member id (Taobao nick / store customer id), name, phone as written, email.
    member_id: str = ""
    member_kind: str = ""  # an IdentityKind for member_id
    alipay: str = ""
    name: str = ""
    phone: str = ""
    email: str = ""
    accepts_marketing: bool | None = None
    receiver_name: str = ""
    receiver_phone: str = ""
    receiver_address: str = ""
    postal_code: str = ""
    # The shipping address's parts ("" where the export has none); country an ISO 3166-1 alpha-2 code.
    country: str = ""
    province: str = ""
    city: str = ""
    district: str = ""
    buyer_message: str = ""
    carrier: str = ""
    tracking_number: str = ""
    tags: list[str] = dataclasses.field(default_factory=list)
    lines: list[LineRow] = dataclasses.field(default_factory=list)
    raw: list[str] = dataclasses.field(default_factory=list)
    # {"line", "column", "message"} for cells read by a rule rather than as written (local times in a DST gap
    # or fold).
    warnings: list[dict] = dataclasses.field(default_factory=list)


# Encodings and rows -------------------------------------------------------------------------------------------


def sniff_encoding(path: Path | str) -> str:
    """utf-8-sig, utf-8 or gb18030 (a superset of GBK); RowError for binary or undecodable files."""
    with open(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if not head.strip():
        raise RowError(path=path, line=1, column="", message="the file is empty")
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if b"\x00" in head:
        raise RowError(path=path, line=1, column="", message="this is a binary file, not a CSV or text export")
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    # A cut in the middle of a multi-byte character at the end of the sample is not a decoding error.
    for encoding in ("utf-8", "gb18030"):
        try:
            head.decode(encoding)
            return encoding
        except UnicodeDecodeError as exc:
            if exc.start >= len(head) - 4:
                return encoding
    raise RowError(path=path, line=1, column="", message="cannot decode the file as UTF-8, GBK or GB18030 (wrong encoding?)")


def _lines(path, encoding: str, *, offset: int = 0, first_line: int = 1) -> Iterator[tuple[int, list[str]]]:
    """(first line number, cells) for each CSV record; RowError for broken quoting or undecodable bytes.

    From byte `offset` on, which is line `first_line` (the columnar path hands over the rest of a file so; it
    must be the start of a line, after the BOM)."""
    with open(path, "rb") as binary:
        binary.seek(offset)
        handle = io.TextIOWrapper(binary, encoding="utf-8" if offset and encoding == "utf-8-sig" else encoding,
                                  newline="")
        reader = csv.reader(handle, strict=True)
        base = previous = first_line - 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise RowError(path=path, line=previous + 1, column="", message=f"broken CSV quoting ({exc})") from None
            except UnicodeDecodeError:
                raise RowError(path=path, line=previous + 1, column="",
                               message=f"bytes that are not {encoding} (wrong encoding?)") from None
            start, previous = previous + 1, base + reader.line_num
            if "".join(cells).strip():  # skip blank records; as any(cell.strip()), at C speed
                yield start, cells


def records_from(path, encoding: str, *, offset: int, first_line: int) -> Iterator[tuple[int, list[str]]]:
    """The records of a CSV export from byte `offset` (the start of line `first_line`) on, as `_lines` reads
    them from the start."""
    return _lines(path, encoding, offset=offset, first_line=first_line)


def _xlsx_lines(path) -> Iterator[tuple[int, list[str]]]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a damaged file
        raise RowError(path=path, line=1, column="", message=f"cannot open the workbook ({exc})") from None
    try:
        for number, values in enumerate(book.worksheets[0].iter_rows(values_only=True), start=1):
            cells = ["" if v is None else (v.strftime("%Y-%m-%d %H:%M:%S") if isinstance(v, dt.datetime) else str(v))
                     for v in values]
            if any(cell.strip() for cell in cells):
                yield number, cells
    finally:
        book.close()


def read_rows(path) -> tuple[str, Iterator[tuple[int, list[str]]]]:
    encoding = sniff_encoding(path)
    if encoding == "xlsx":
        return encoding, _xlsx_lines(path)
    return encoding, _lines(path, encoding)


# Cell parsers -------------------------------------------------------------------------------------------------


def clean(cell: str) -> str:
    """A cell without the spreadsheet text markers: `="1930…"` → `1930…`, a leading `'` dropped."""
    if not cell:
        return ""
    first = cell[0]
    if first != "=" and first != "'" and not first.isspace() and not cell[-1].isspace():
        return cell  # the common case, millions of times per import: nothing to strip
    value = cell.strip()
    if value.startswith('="') and value.endswith('"'):
        value = value[2:-1]
    return value.lstrip("'").strip() if value.startswith("'") else value


_DATE = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6}))?)?)?"
                   r"(?:\s*(?:([zZ])|([+-]\d{2}):?(\d{2})))?$")
_UTC = dt.timezone.utc

_CENT = Decimal("0.01")
# The money columns' bound: numeric(14, 2) keeps amounts below 10**12.
MONEY_LIMIT = Decimal(10) ** (MONEY["max_digits"] - MONEY["decimal_places"])
QUANTITY_LIMIT = 2**31 - 1  # OrderLine.quantity, a PositiveIntegerField
NUMBER_LENGTH = Order._meta.get_field("number").max_length


class CellError(ValueError):
    pass


def parse_money(cell: str) -> Decimal:
    """A non-negative amount rounded to cents; CellError for text, NaN, infinities and amounts the money columns
    cannot hold."""
    if cell and cell[0].isdigit() and cell[-1].isdigit():
        try:  # the common case, "129.00": skip the clean-up (the slow path below words any error)
            amount = Decimal(cell).quantize(_CENT)
            if amount < MONEY_LIMIT:
                return amount
        except InvalidOperation:
            pass
    value = clean(cell).replace(",", "").replace("¥", "").replace("$", "").replace("￥", "")
    if value == "":
        return Decimal("0")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise CellError(f"“{cell}” is not an amount") from None
    if not amount.is_finite() or amount < 0:
        raise CellError(f"“{cell}” is not a non-negative amount")
    if amount >= MONEY_LIMIT or amount.quantize(_CENT) >= MONEY_LIMIT:  # the first test keeps 1e400 from quantize
        raise CellError(f"“{cell}” is more than the largest amount kept ({MONEY_LIMIT - _CENT})")
    return amount.quantize(_CENT)


def local_time_warning(local: dt.datetime) -> str | None:
    """What reading this aware local time by the fold=0 rule did, when it falls in a DST gap or fold; None for
    an ordinary time. Both import paths word their warnings with it."""
    first, second = local.utcoffset(), local.replace(fold=1).utcoffset()
    if first == second:
        return None
    naive, zone = local.replace(tzinfo=None), getattr(local.tzinfo, "key", str(local.tzinfo))
    if first < second:  # fold=0 takes the earlier offset: in a gap that is the one before the clocks went forward
        moved = local.astimezone(_UTC).astimezone(local.tzinfo).replace(tzinfo=None)
        return f"{naive} does not exist in {zone} (the clocks went forward); read as {moved}"
    return (f"{naive} happens twice in {zone} (the clocks went back); read as the first, "
            f"{naive.replace(tzinfo=dt.timezone(first)).isoformat(' ')}")


def _in_utc(local: dt.datetime, cell: str, shifted) -> dt.datetime:
    try:
        instant = local.astimezone(_UTC)
    except OverflowError:
        raise CellError(f"“{cell}” is out of the range of dates (years 1 to 9999)") from None
    if shifted is not None:
        warning = local_time_warning(local)
        if warning is not None:
            shifted(warning)
    return instant


def parse_datetime(cell: str, tz: zoneinfo.ZoneInfo, *, required: bool = False,
                   shifted: Callable[[str], None] | None = None) -> dt.datetime | None:
    """The instant of a cell, in UTC (None for an empty cell unless `required`). A local time is read in `tz` by
    the fold=0 rule (see the module's docstring); `shifted` is told each time that rule moved or chose."""
    value = clean(cell)
    if len(value) == 19 and value[4] == "-" and value[10] == " ":
        try:  # the common case, "2023-07-12 10:23:45" (the regex below handles the rest and words errors)
            local = dt.datetime.fromisoformat(value).replace(tzinfo=tz)
        except ValueError:
            pass
        else:
            return _in_utc(local, cell, shifted)
    if not value:
        if required:
            raise CellError("a date is required")
        return None
    match = _DATE.match(value)
    if not match:
        raise CellError(f"“{cell}” is not a date (expected 2023-07-12 10:23:45 or 2023/7/12 10:23)")
    y, m, d, hh, mm, ss, fraction, z, oh, om = match.groups()
    try:
        if z:
            zone = _UTC
        elif oh:
            sign = -1 if oh.startswith("-") else 1
            zone = dt.timezone(sign * dt.timedelta(hours=int(oh[1:]), minutes=int(om)))
        else:
            zone = tz
        local = dt.datetime(int(y), int(m), int(d), int(hh or 0), int(mm or 0), int(ss or 0),
                            int((fraction or "0").ljust(6, "0")), tzinfo=zone)
    except ValueError:
        raise CellError(f"“{cell}” is not a valid date") from None
    return _in_utc(local, cell, shifted if zone is tz else None)


def parse_int(cell: str) -> int:
    value = clean(cell) or "1"
    try:
        number = int(Decimal(value))
    except (InvalidOperation, ValueError, OverflowError):
        raise CellError(f"“{cell}” is not a whole number") from None
    if number < 0:
        raise CellError(f"“{cell}” is negative")
    if number > QUANTITY_LIMIT:
        raise CellError(f"“{cell}” is more than the largest quantity kept ({QUANTITY_LIMIT})")
    return number


_POSTAL = re.compile(r"\s*[(（](\d{6})[)）]\s*$")


def split_postal_code(address: str) -> tuple[str, str]:
    """`浙江省 杭州市 … 1531室(310000)` → (`浙江省 杭州市 … 1531室`, `310000`)."""
    match = _POSTAL.search(address)
    if not match:
        return address.strip(), ""
    return address[:match.start()].strip(), match.group(1)


# Formats ------------------------------------------------------------------------------------------------------

TAOBAO_REQUIRED = ("订单编号", "买家会员名", "买家实际支付金额", "订单状态", "订单创建时间")
TAOBAO_ITEMS_REQUIRED = ("订单编号", "标题", "价格", "购买数量")
SHOPIFY_REQUIRED = ("Name", "Email", "Financial Status", "Total", "Created at")
GENERIC_REQUIRED = ("order_number", "created", "amount", "status")

TAOBAO_STATUS = {
    "交易成功": OrderStatus.COMPLETED,
    "买家已付款，等待卖家发货": OrderStatus.PAID,
    "卖家已发货，等待买家确认": OrderStatus.SHIPPED,
    "交易关闭": OrderStatus.CLOSED,
    "等待买家付款": OrderStatus.PENDING_PAYMENT,
}
SHOPIFY_MONEY = {"paid": OrderStatus.PAID, "partially_refunded": OrderStatus.PARTIALLY_REFUNDED,
                 "refunded": OrderStatus.REFUNDED}
SHOPIFY_NO_MONEY = {"pending": OrderStatus.PENDING_PAYMENT, "voided": OrderStatus.CLOSED,
                    "authorized": OrderStatus.PENDING_PAYMENT}
MONEY_STATUSES = {OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.COMPLETED, OrderStatus.REFUNDED,
                  OrderStatus.PARTIALLY_REFUNDED}


def detect_format(header: list[str]) -> str | None:
    names = {clean(cell).lstrip("\ufeff") for cell in header}
    lowered = {name.lower() for name in names}
    if {"订单编号", "买家会员名"} <= names:
        return "taobao"
    if {"name", "financial status", "lineitem name"} <= lowered:
        return "shopify"
    if [cell.strip().lower() for cell in " ".join(header).split()][:2] == ["customer_id", "date"]:
        return "cdnow"
    if re.fullmatch(r"\s*\d+\s+\d+\s+\d{8}\s+\d+\s+[\d.]+\s*", " ".join(header)):
        return "cdnow"
    if "order_number" in lowered:
        return "generic"
    return None


class _Columns:
    """Column lookup by header name, with errors that name the column."""

    def __init__(self, path, header: list[str], required: tuple[str, ...], *, fmt: str, column_map=None,
                 lower: bool = False):
        self.path = path
        names = [clean(cell).lstrip("\ufeff").strip() for cell in header]
        if lower:
            names = [name.lower() for name in names]
        for source, target in (column_map or {}).items():
            source = source.lower() if lower else source
            names = [target if name == source else name for name in names]
        self.index = {name: i for i, name in enumerate(names)}
        missing = [name for name in required if name not in self.index]
        if missing:
            raise RowError(path=path, line=1, column=missing[0],
                           message=f"required column “{missing[0]}” is missing from the {fmt} header")

    def has(self, name: str) -> bool:
        return name in self.index

    def get(self, cells: list[str], name: str) -> str:
        i = self.index.get(name)
        return cells[i] if i is not None and i < len(cells) else ""


def _cell(path, line: int, column: str, cells: list[str], parse, *args, **kwargs):
    try:
        return parse(*args, **kwargs)
    except CellError as exc:
        raise RowError(path=path, line=line, column=column, message=str(exc), row=cells) from None


def _time(path, line: int, column: str, cells: list[str], cell: str, tz, warnings: list[dict], *,
          required: bool = False) -> dt.datetime | None:
    """parse_datetime for one cell; a DST gap or fold adds a warning naming the line and column."""
    def shifted(message: str) -> None:
        warnings.append({"line": line, "column": column, "message": message})

    return _cell(path, line, column, cells, parse_datetime, cell, tz, required=required, shifted=shifted)


def _number(path, line: int, column: str, cells: list[str], number: str) -> str:
    """An order number, refused when the number column cannot hold it (cutting it could make two orders one)."""
    if len(number) > NUMBER_LENGTH:
        raise RowError(path=path, line=line, column=column, row=cells, message=f"the order number is "
                       f"{len(number)} characters long, more than the {NUMBER_LENGTH} kept")
    return number


def _line_row(path, line: int, column: str, cells: list[str], item: LineRow) -> LineRow:
    """An order line, refused when its amount (price × quantity) is beyond the money columns."""
    if item.unit_price * item.quantity >= MONEY_LIMIT:
        raise RowError(path=path, line=line, column=column, row=cells, message=f"the line amount "
                       f"{item.unit_price} × {item.quantity} is more than the largest amount kept "
                       f"({MONEY_LIMIT - _CENT})")
    return item


def _country(path, line: int, column: str, cells: list[str], cell: str) -> str:
    code = addresses.country_code(cell)
    if code is None:
        raise RowError(path=path, line=line, column=column, row=cells,
                       message=f"“{cell.strip()}” is not a country (use an ISO 3166 code such as CN or US)")
    return code


def taobao_address(address: str, modified: str) -> tuple[str, str, str, str, str, str]:
    """(address without its postcode, postcode, country, province, city, district) of a Taobao order, from the
    cleaned `修改后的收货地址` when set, else `收货地址`."""
    address, postal = split_postal_code(modified or address)
    province, city, district = addresses.china_parts(address) if address else ("", "", "")
    return address[:300], postal, addresses.china_country(province) if address else "", province, city, district


def read_taobao_items(path) -> dict[str, list[LineRow]]:
    """Order number → lines, from the item report (宝贝报表)."""
    _, lines = read_rows(path)
    lines = iter(lines)
    header = next(lines, None)
    if header is None:
        raise RowError(path=path, line=1, column="", message="the file is empty")
    cols = _Columns(path, header[1], TAOBAO_ITEMS_REQUIRED, fmt="Taobao item report")
    items: dict[str, list[LineRow]] = {}
    for line, cells in lines:
        number = clean(cols.get(cells, "订单编号"))
        price = _cell(path, line, "价格", cells, parse_money, cols.get(cells, "价格"))
        quantity = _cell(path, line, "购买数量", cells, parse_int, cols.get(cells, "购买数量"))
        items.setdefault(number, []).append(_line_row(path, line, "购买数量", cells, LineRow(
            title=clean(cols.get(cells, "标题"))[:300], quantity=quantity, unit_price=price,
            sku=clean(cols.get(cells, "商家编码"))[:100])))
    return items


def read_taobao(path, header, lines, *, tz, items=None, column_map=None) -> Iterator[OrderRow]:
    cols = _Columns(path, header, TAOBAO_REQUIRED, fmt="Taobao order report", column_map=column_map)
    for line, cells in lines:
        try:
            yield _taobao_row(path, cols, line, cells, tz, items)
        except RowError as exc:
            yield exc


def _taobao_row(path, cols, line, cells, tz, items) -> OrderRow:
    get = lambda name, cells=cells: cols.get(cells, name)  # noqa: E731
    number = clean(get("订单编号"))
    if not number:
        raise RowError(path=path, line=line, column="订单编号", message="the order number is empty", row=cells)
    status_text = clean(get("订单状态"))
    status = TAOBAO_STATUS.get(status_text)
    if status is None:
        raise RowError(path=path, line=line, column="订单状态", message=f"unknown order status “{status_text}”",
                       row=cells)
    paid = _cell(path, line, "买家实际支付金额", cells, parse_money, get("买家实际支付金额"))
    address, postal, country, province, city, district = taobao_address(clean(get("收货地址")),
                                                                         clean(get("修改后的收货地址")))
    warnings: list[dict] = []
    row = OrderRow(
        line=line, number=_number(path, line, "订单编号", cells, number), status=status, raw=cells,
        placed_at=_time(path, line, "订单创建时间", cells, get("订单创建时间"), tz, warnings, required=True),
        paid_at=_time(path, line, "订单付款时间", cells, get("订单付款时间"), tz, warnings), warnings=warnings,
        paid_amount=paid if status in MONEY_STATUSES else Decimal("0"),
        goods_amount=_cell(path, line, "买家应付货款", cells, parse_money, get("买家应付货款")),
        shipping_amount=_cell(path, line, "买家应付邮费", cells, parse_money, get("买家应付邮费")),
        refunded_amount=_cell(path, line, "退款金额", cells, parse_money, get("退款金额")),
        member_id=clean(get("买家会员名")), member_kind="buyer_nick", alipay=clean(get("买家支付宝账号")),
        name=clean(get("收货人姓名")), phone=clean(get("联系手机")) or clean(get("联系电话")),
        receiver_name=clean(get("收货人姓名"))[:100], receiver_phone=clean(get("联系手机"))[:32],
        receiver_address=address, postal_code=postal, country=country, province=province, city=city,
        district=district, buyer_message=get("买家留言").strip(),
        carrier=clean(get("物流公司"))[:100], tracking_number=clean(get("物流单号"))[:100],
    )
    if status == OrderStatus.CLOSED:
        row.closed_at = row.placed_at
    if items is not None:
        row.lines = items.get(number, [])
    return row


def read_shopify(path, header, lines, *, tz, column_map=None) -> Iterator[OrderRow]:
    cols = _Columns(path, header, SHOPIFY_REQUIRED, fmt="Shopify orders export", column_map=column_map)
    current: OrderRow | None = None
    bad = None
    for line, cells in lines:
        try:
            get = lambda name, cells=cells: cols.get(cells, name)  # noqa: E731
            number = clean(get("Name"))
            if not number:
                raise RowError(path=path, line=line, column="Name", message="the order name is empty", row=cells)
            if number == bad:
                continue
            if current is None or number != current.number:
                if current is not None:
                    yield current
                financial = clean(get("Financial Status")).lower()
                if financial in SHOPIFY_MONEY:
                    status = SHOPIFY_MONEY[financial]
                elif financial in SHOPIFY_NO_MONEY:
                    status = SHOPIFY_NO_MONEY[financial]
                else:
                    raise RowError(path=path, line=line, column="Financial Status",
                                   message=f"unknown financial status “{financial}” on the order's first row", row=cells)
                total = _cell(path, line, "Total", cells, parse_money, get("Total"))
                cancelled = _cell(path, line, "Cancelled at", cells, parse_datetime, get("Cancelled at"), tz)
                side = _shopify_address_side(get)
                if cancelled and status not in SHOPIFY_MONEY.values():
                    status = OrderStatus.CLOSED
                marketing = clean(get("Accepts Marketing")).lower()
                warnings: list[dict] = []
                current = OrderRow(
                    line=line, number=_number(path, line, "Name", cells, number), status=status, raw=cells,
                    currency=clean(get("Currency"))[:3],
                    placed_at=_time(path, line, "Created at", cells, get("Created at"), tz, warnings, required=True),
                    paid_at=_time(path, line, "Paid at", cells, get("Paid at"), tz, warnings),
                    closed_at=cancelled, warnings=warnings,
                    paid_amount=total if status in MONEY_STATUSES else Decimal("0"),
                    goods_amount=_cell(path, line, "Subtotal", cells, parse_money, get("Subtotal")),
                    shipping_amount=_cell(path, line, "Shipping", cells, parse_money, get("Shipping")),
                    discount_amount=_cell(path, line, "Discount Amount", cells, parse_money, get("Discount Amount")),
                    refunded_amount=_cell(path, line, "Refunded Amount", cells, parse_money, get("Refunded Amount")),
                    email=clean(get("Email")), phone=clean(get("Billing Phone")) or clean(get("Phone")),
                    name=clean(get("Billing Name")), member_kind="billing_name",
                    accepts_marketing={"yes": True, "true": True, "no": False, "false": False}.get(marketing),
                    receiver_name=clean(get("Shipping Name"))[:100], receiver_phone=clean(get("Shipping Phone"))[:32],
                    receiver_address=", ".join(p for p in (_shopify_street(get, side), clean(get(f"{side} City")),
                                                           clean(get(f"{side} Zip"))) if p)[:300],
                    postal_code=clean(get(f"{side} Zip"))[:addresses.POSTCODE_LENGTH],
                    country=_country(path, line, f"{side} Country", cells, clean(get(f"{side} Country"))),
                    province=clean(get(f"{side} Province"))[:addresses.FIELD_LENGTH],
                    city=clean(get(f"{side} City"))[:addresses.FIELD_LENGTH],
                    buyer_message=get("Notes").strip(),
                    tags=[tag.strip()[:50] for tag in get("Tags").split(",") if tag.strip()],
                )
            if clean(get("Lineitem name")):
                current.lines.append(_line_row(path, line, "Lineitem quantity", cells, LineRow(
                    title=clean(get("Lineitem name"))[:300], sku=clean(get("Lineitem sku"))[:100],
                    quantity=_cell(path, line, "Lineitem quantity", cells, parse_int, get("Lineitem quantity")),
                    unit_price=_cell(path, line, "Lineitem price", cells, parse_money, get("Lineitem price")),
                )))
        except RowError as exc:
            bad, current = number, None
            yield exc
    if current is not None:
        yield current


_SHOPIFY_ADDRESS = ("Street", "Address1", "Address2", "City", "Zip", "Province", "Country")


def _shopify_address_side(get) -> str:
    """"Shipping" when the order's first row has any shipping address cell, else "Billing" (orders without
    shipping, e.g. digital goods, carry the buyer's address there only)."""
    return "Shipping" if any(clean(get(f"Shipping {name}")) for name in _SHOPIFY_ADDRESS) else "Billing"


def _shopify_street(get, side: str) -> str:
    """`Street` (Shopify's Address1 and Address2 in one), or those two themselves in exports without it."""
    return clean(get(f"{side} Street")) or ", ".join(
        part for part in (clean(get(f"{side} Address1")), clean(get(f"{side} Address2"))) if part)


def read_cdnow(path, header, lines, *, tz) -> Iterator[OrderRow]:
    positions: dict[tuple[str, str], int] = {}

    def rows():
        if header[1][0].strip().lower().startswith("customer_id"):
            yield from lines
        else:  # the sample layout has no header: the first line is data
            yield header
            yield from lines

    width = None
    for line, cells in rows():
        parts = " ".join(cells).split()
        if width is None:
            width = len(parts)
            if width not in (4, 5):
                raise RowError(path=path, line=line, column="", message=f"expected 4 or 5 columns, found {width}")
        if len(parts) != width:
            yield RowError(path=path, line=line, column="",
                           message=f"expected {width} columns, found {len(parts)}", row=cells)
            continue
        customer_id, day, cds, dollars = parts[0], *parts[-3:]
        try:
            date = _cell(path, line, "date", cells, parse_datetime, f"{day[:4]}-{day[4:6]}-{day[6:8]} 12:00"
                     if re.fullmatch(r"\d{8}", day) else day, tz, required=True)
            amount = _cell(path, line, "dollar_value", cells, parse_money, dollars)
            quantity = _cell(path, line, "number_of_cds", cells, parse_int, cds)
        except RowError as exc:
            yield exc
            continue
        positions[customer_id, day] = positions.get((customer_id, day), 0) + 1
        unit = (amount / quantity).quantize(Decimal("0.01")) if quantity else amount
        try:
            number = _number(path, line, "customer_id", cells, f"{customer_id}-{day}-{positions[customer_id, day]}")
        except RowError as exc:
            yield exc
            continue
        yield OrderRow(line=line, number=number,
                       status=OrderStatus.COMPLETED, placed_at=date, paid_at=date, paid_amount=amount,
                       goods_amount=amount, currency="USD", member_id=customer_id, member_kind="buyer_id",
                       name=f"CDNOW customer {customer_id}", raw=cells,
                       lines=[LineRow(title="CD", quantity=quantity, unit_price=unit)])


def read_generic(path, header, lines, *, tz, column_map=None) -> Iterator[OrderRow]:
    cols = _Columns(path, header, GENERIC_REQUIRED, fmt="generic", column_map=column_map, lower=True)
    current: OrderRow | None = None
    bad = None
    for line, cells in lines:
        try:
            get = lambda name, cells=cells: cols.get(cells, name)  # noqa: E731
            number = clean(get("order_number"))
            if not number:
                raise RowError(path=path, line=line, column="order_number", message="the order number is empty",
                               row=cells)
            if number == bad:
                continue
            if current is None or current.number != number:
                if current is not None:
                    yield current
                status = clean(get("status")).lower()
                if status not in OrderStatus.values:
                    raise RowError(path=path, line=line, column="status", message=f"unknown status “{status}” (one "
                                   f"of {', '.join(OrderStatus.values)})", row=cells)
                amount = _cell(path, line, "amount", cells, parse_money, get("amount"))
                warnings: list[dict] = []
                current = OrderRow(
                    line=line, number=_number(path, line, "order_number", cells, number), status=status, raw=cells,
                    currency=clean(get("currency"))[:3], warnings=warnings,
                    placed_at=_time(path, line, "created", cells, get("created"), tz, warnings, required=True),
                    paid_at=_time(path, line, "paid", cells, get("paid"), tz, warnings),
                    paid_amount=amount if status in MONEY_STATUSES else Decimal("0"), goods_amount=amount,
                    refunded_amount=_cell(path, line, "refunded", cells, parse_money, get("refunded")),
                    member_id=clean(get("customer_id")), member_kind="buyer_id", name=clean(get("customer_name")),
                    phone=clean(get("phone")), email=clean(get("email")),
                    country=_country(path, line, "country", cells, clean(get("country"))),
                    province=clean(get("province"))[:addresses.FIELD_LENGTH],
                    city=clean(get("city"))[:addresses.FIELD_LENGTH],
                    district=clean(get("district"))[:addresses.FIELD_LENGTH],
                    postal_code=clean(get("postcode"))[:addresses.POSTCODE_LENGTH],
                    receiver_address=clean(get("address"))[:300],
                )
            if clean(get("title")) or clean(get("sku")):
                current.lines.append(_line_row(path, line, "quantity", cells, LineRow(
                    title=(clean(get("title")) or clean(get("sku")))[:300], sku=clean(get("sku"))[:100],
                    quantity=_cell(path, line, "quantity", cells, parse_int, get("quantity")),
                    unit_price=_cell(path, line, "unit_price", cells, parse_money, get("unit_price")),
                )))
        except RowError as exc:
            bad, current = number, None
            yield exc
    if current is not None:
        yield current


@dataclasses.dataclass
class OpenedFile:
    """A file whose header has been read: its format, and its remaining records (`lines`, as (line number,
    cells)) which `read` turns into OrderRows and RowErrors. `read` may be given the records from any point where
    an order starts (the columnar fast path hands over the rest of a file that way)."""

    path: str
    format: str
    encoding: str
    header: list[str]
    lines: Iterator[tuple[int, list[str]]]
    read: Callable[[Iterator[tuple[int, list[str]]]], Iterator[OrderRow | RowError]]
    tz: zoneinfo.ZoneInfo
    column_map: dict | None = None
    items_path: str | None = None

    @property
    def rows(self) -> Iterator[OrderRow | RowError]:
        return self.read(self.lines)


def open_orders(path, *, fmt: str | None, tz: zoneinfo.ZoneInfo, items_path=None, column_map=None) -> OpenedFile:
    """Detect (or check) the format and return the stream of orders; RowError if the file cannot be read."""
    path = str(path)
    encoding, lines = read_rows(path)
    lines = iter(lines)
    first = next(lines, None)
    if first is None:
        raise RowError(path=path, line=1, column="", message="the file is empty")
    detected = detect_format(first[1])
    if fmt is None and column_map:
        fmt = "generic"
    if fmt is None:
        if detected is None:
            raise RowError(path=path, line=first[0], column="", message="unrecognised header: not a Taobao, "
                           "Shopify, CDNOW or generic order export (choose one with --format)")
        fmt = detected
    elif fmt not in FORMATS:
        raise RowError(path=path, line=1, column="", message=f"unknown format “{fmt}” (one of {', '.join(FORMATS)})")
    elif detected is not None and detected != fmt and not column_map:
        raise RowError(path=path, line=first[0], column="",
                       message=f"the header is a {detected} export, not {fmt} (wrong format)")
    header = first[1]
    if fmt == "taobao":
        items = read_taobao_items(items_path) if items_path else None
        read = functools.partial(read_taobao, path, header, tz=tz, items=items, column_map=column_map)
    elif fmt == "shopify":
        read = functools.partial(read_shopify, path, header, tz=tz, column_map=column_map)
    elif fmt == "cdnow":
        read = functools.partial(read_cdnow, path, first, tz=tz)
    else:
        read = functools.partial(read_generic, path, header, tz=tz, column_map=column_map)
    return OpenedFile(path=path, format=fmt, encoding=encoding, header=header, lines=lines, read=read, tz=tz,
                      column_map=column_map, items_path=str(items_path) if items_path else None)
