"""The columnar fast path for Taobao order reports and generic CSVs: a batch of CSV records parsed with Polars
into the column values the import writes, or None when any record of the batch needs the exact per-row reader.

The exact reader (readers.py) builds one `OrderRow` per record with Python's Decimal, datetime and string calls,
a third of an import's time before this path existed. Here each check accepts only cells that the exact reader reads the same way — plain amounts,
dates in the two export layouts, known statuses, unique order numbers, rows as wide as the header — and leaves
every other batch to it, so either path gives the same database rows and the exact path alone words the
errors. Cells the exact `clean` would change (`="1930…"`, `'138…`, surrounding spaces) go through `clean`
itself; the rest pass as they are.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import itertools
from typing import Iterator

import polars as pl

from guanxi.commerce.models import OrderStatus
from guanxi.imports import addresses
from guanxi.imports.buyer_keys import Key, buyer_keys_of_columns
from guanxi.imports.series import constant, where
from guanxi.imports.readers import (GENERIC_REQUIRED, MONEY_STATUSES, NUMBER_LENGTH, TAOBAO_REQUIRED, TAOBAO_STATUS,
                                    OpenedFile, RowError, _Columns, clean, local_time_warning, split_postal_code)

BATCH_LINES = 10_000  # records per batch: enough to amortise Polars' per-call cost; three in flight ≈ 100 MB
# Python's str.isspace (behind clean, strip and re's \s) counts U+001C–U+001F as spaces; Rust's regex \s and
# Polars' strip do not. A batch holding one of them goes to the exact reader.
_PY_ONLY_SPACE = "[\x1c-\x1f]"
_NEEDS_CLEAN = r"^[='\s]|\s$"  # the cells readers.clean changes
# Two shapes of those whose clean value is plainly the group: no space, quote or further marker inside.
_FORMULA_TEXT = r'^="([0-9A-Za-z_-]*)"$'
_QUOTED_TEXT = r"^'+([0-9A-Za-z*+-]+)$"
_MONEY = r"^[0-9]{1,12}(?:\.[0-9]{1,2})?$"  # numeric(14, 2), nothing to round
# readers.parse_datetime's layouts without an offset; year 0 and leap seconds are errors there, not here.
_DATETIME = r"^[1-9][0-9]{3}[-/][0-9]{1,2}[-/][0-9]{1,2} [0-9]{1,2}:[0-5][0-9](?::[0-5][0-9])?$"
_POSTAL_ASCII = r"\s*[(（][0-9]{6}[)）]\s*$"
_POSTAL_DIGITS = r"[(（]([0-9]{6})[)）]\s*$"
# An address whose first three parts are split by single spaces, with no other whitespace: str.split() and
# Polars' split(" ") cut it alike; the rest go through addresses.china_parts itself.
_THREE_PARTS = r"^\S+ \S+ \S+"
_OTHER_SPACE = r"[^\S ]|  "
_ENDS_IN_PAREN = r"[)）]\s*$"
GENERIC_LINE_COLUMNS = ("sku", "title", "quantity", "unit_price")
# The columns each format's batches read (what the exact reader reads for an order without lines).
READS = {
    "taobao": ("订单编号", "订单状态", "订单创建时间", "订单付款时间", "买家实际支付金额", "买家应付货款", "买家应付邮费",
               "退款金额", "收货人姓名", "联系手机", "联系电话", "买家支付宝账号", "买家会员名", "收货地址", "修改后的收货地址",
               "买家留言", "物流公司", "物流单号"),
    "generic": ("order_number", "status", "amount", "currency", "refunded", "created", "paid", "email", "phone",
                "customer_id", "customer_name", "country", "province", "city", "district", "postcode", "address"),
}


@dataclasses.dataclass
class Batch:
    """One batch of orders as columns (all String unless said): number, status, currency ("" = the store's),
    goods, shipping, discount, paid, refunded (amounts as "129.00"), placed_at, paid_at, closed_at (naive UTC
    Datetime, null when absent), email, phone, alipay, member_id, name (the buyer), receiver_name,
    receiver_phone, receiver_address, buyer_message, carrier, tracking (empty when there is no shipment),
    country, province, city, district, postcode (the shipping address's parts, "" where absent)."""

    frame: pl.DataFrame
    keys: list[list[Key]]  # each order's buyer keys (buyer_keys.buyer_keys)
    lines: int
    # As OrderRow.warnings, in the order the exact reader gives them (by line, then placed before paid).
    warnings: list[dict] = dataclasses.field(default_factory=list)


class _Unfit(Exception):
    """The batch holds a record that only the exact reader may read."""


class Plan:
    """How to read one file's batches: the column positions and the time zone."""

    def __init__(self, opened: OpenedFile, cols: _Columns, *, store_id: int):
        self.fmt, self.tz, self.store_id = opened.format, opened.tz, store_id
        self.index = {name: cols.index[name] for name in READS[self.fmt] if name in cols.index}
        self.width = len(opened.header)
        # A record of `width` cells, each unquoted (a quote in it, as in ="1930…", is a character, but not at its
        # start) or quoted with "" for a quote; no NUL, a CR only before an LF, an LF only at the record's end or
        # inside quotes. There Python's csv module and Polars' reader split the same cells, and the csv module
        # counts a line per LF. Nor U+001C–U+001F, which `_batch` would otherwise look for column by column.
        cell = r'(?:(?:[^",\r\n\x00\x1c-\x1f][^,\r\n\x00\x1c-\x1f]*)?|"(?:[^"\r\x00\x1c-\x1f]|\r\n|"")*")'
        line = cell + ("," + cell) * (self.width - 1)
        self._line_shape = rf"\A(?:{line}\r?\n)*(?:{line})?\z"
        self._offsets = _HourOffsets(self.tz)

    def parse(self, records: list[tuple[int, list[str]]]) -> Batch | None:
        """The batch as columns, or None when one of its records needs the exact reader."""
        if any(len(cells) != self.width for _, cells in records):
            return None
        columns = list(zip(*(cells for _, cells in records)))
        return self._batch({i: pl.Series(columns[i], dtype=pl.String) for i in set(self.index.values())},
                           len(records), [line for line, _ in records])

    def parse_text(self, chunk: Chunk) -> Batch | None | Unreadable:
        """`parse` for a chunk of the file's text read by Polars' CSV reader instead of the csv module: UNREADABLE
        unless every line of it is one record in the plain shape (`_line_shape`) in which both readers split the
        same cells, so the caller reads it record by record instead."""
        if not chunk.whole:
            return UNREADABLE
        try:
            text = chunk.data.decode(chunk.encoding)
        except UnicodeDecodeError:
            return UNREADABLE
        if not pl.Series([text]).str.contains(self._line_shape).item():
            return UNREADABLE
        frame = pl.read_csv(text.encode("utf-8") if chunk.encoding != "utf-8" else chunk.data, has_header=False,
                            infer_schema=False, empty_string_is_null=False, raise_if_empty=False)
        if frame.height != chunk.records or frame.width != self.width:
            return UNREADABLE
        # Each record on one line, the line numbers are counted; else only a batch without warnings needs none.
        lines = range(chunk.first_line, chunk.first_line + chunk.records) if chunk.lines == chunk.records else None
        batch = self._batch({i: frame.to_series(i) for i in set(self.index.values())}, chunk.records, lines,
                            spaces=False)
        return UNREADABLE if batch is not None and batch.warnings and lines is None else batch

    def _batch(self, raw: dict[int, pl.Series], n: int, lines, *, spaces: bool = True) -> Batch | None:
        """`lines`: each record's line number (None: unknown); `spaces`: whether the cells may hold U+001C–U+001F
        (the text path's shape has none)."""
        shifted: list[tuple[int, int, str, str]] = []  # (record, column's place, column, message)
        try:
            if spaces and any(series.str.contains(_PY_ONLY_SPACE).any() for series in raw.values()):
                raise _Unfit
            frame = (self._taobao if self.fmt == "taobao" else self._generic)(raw, n, shifted)
        except _Unfit:
            return None
        if frame["number"].is_duplicated().any():
            return None  # a repeated number is an update within the file: the exact path decides which row wins
        warnings = [{"line": lines[i] if lines is not None else 0, "column": column, "message": message}
                    for i, _, column, message in sorted(shifted)]
        return Batch(frame=frame, keys=self._keys(frame), lines=n, warnings=warnings)

    def _keys(self, frame: pl.DataFrame) -> list[list[Key]]:
        return buyer_keys_of_columns(
            email=frame["email"], phone=frame["phone"], alipay=frame["alipay"], member_id=frame["member_id"],
            name=frame["name"], number=frame["number"], store_id=self.store_id,
            member_kind="buyer_nick" if self.fmt == "taobao" else "buyer_id")

    # -- formats ------------------------------------------------------------------------------------------------
    def _taobao(self, raw: dict[int, pl.Series], n: int, shifted: list) -> pl.DataFrame:
        cell = lambda name: self._cell(raw, name, n)  # noqa: E731
        text = lambda name: _clean(cell(name))  # noqa: E731
        number = _number(text("订单编号"))
        status = _mapped(cell("订单状态"), lambda v: TAOBAO_STATUS.get(clean(v)))
        placed = self._datetimes(cell("订单创建时间"), "订单创建时间", 0, shifted, required=True)
        paid = _money(cell("买家实际支付金额"))
        name, mobile = text("收货人姓名"), text("联系手机")
        modified = text("修改后的收货地址")
        address = _taobao_address(where(modified != "", modified, text("收货地址")))
        return pl.DataFrame({
            "number": number, "status": status, "currency": constant("", n),
            "goods": _money(cell("买家应付货款")), "shipping": _money(cell("买家应付邮费")), "discount": constant("0.00", n),
            "paid": where(status.is_in(_money_statuses()), paid, "0.00"), "refunded": _money(cell("退款金额")),
            "placed_at": placed, "paid_at": self._datetimes(cell("订单付款时间"), "订单付款时间", 1, shifted),
            "closed_at": where(status == OrderStatus.CLOSED.value, placed),
            "email": constant("", n), "phone": where(mobile != "", mobile, text("联系电话")),
            "alipay": text("买家支付宝账号"), "member_id": text("买家会员名"), "name": name,
            "receiver_name": name.str.slice(0, 100), "receiver_phone": mobile.str.slice(0, 32),
            "receiver_address": address["receiver_address"],
            "buyer_message": cell("买家留言").str.strip_chars(),
            "carrier": text("物流公司").str.slice(0, 100), "tracking": text("物流单号").str.slice(0, 100),
            **{name: address[name] for name in ("country", "province", "city", "district", "postcode")},
        })

    def _generic(self, raw: dict[int, pl.Series], n: int, shifted: list) -> pl.DataFrame:
        cell = lambda name: self._cell(raw, name, n)  # noqa: E731
        text = lambda name: _clean(cell(name))  # noqa: E731
        status = _mapped(cell("status"), lambda v: clean(v).lower() if clean(v).lower() in OrderStatus.values else None)
        amount = _money(cell("amount"))
        empty = constant("", n)
        return pl.DataFrame({
            "number": _number(text("order_number")), "status": status,
            "currency": text("currency").str.slice(0, 3), "goods": amount, "shipping": constant("0.00", n),
            "discount": constant("0.00", n), "paid": where(status.is_in(_money_statuses()), amount, "0.00"),
            "refunded": _money(cell("refunded")),
            "placed_at": self._datetimes(cell("created"), "created", 0, shifted, required=True),
            "paid_at": self._datetimes(cell("paid"), "paid", 1, shifted),
            "closed_at": constant(None, n, pl.Datetime("us")),
            "email": text("email"), "phone": text("phone"), "alipay": empty, "member_id": text("customer_id"),
            "name": text("customer_name"), "receiver_name": empty, "receiver_phone": empty,
            "receiver_address": text("address").str.slice(0, 300), "buyer_message": empty, "carrier": empty,
            "tracking": empty, "country": _mapped(text("country"), addresses.country_code),
            "province": text("province").str.slice(0, addresses.FIELD_LENGTH),
            "city": text("city").str.slice(0, addresses.FIELD_LENGTH),
            "district": text("district").str.slice(0, addresses.FIELD_LENGTH),
            "postcode": text("postcode").str.slice(0, addresses.POSTCODE_LENGTH),
        })

    # -- cells --------------------------------------------------------------------------------------------------
    def _cell(self, raw: dict[int, pl.Series], name: str, n: int) -> pl.Series:
        """The column under `name`, or empty cells when the file has no such column (as _Columns.get)."""
        i = self.index.get(name)
        return raw[i] if i is not None else constant("", n)

    def _datetimes(self, cells: pl.Series, column: str = "", place: int = 0, shifted: list | None = None, *,
                   required: bool = False) -> pl.Series:
        """Naive UTC datetimes of local `2023-07-12 10:23:45` / `2023/7/12 10:23` cells (null where empty).

        The offset of each local hour comes from zoneinfo, as the exact reader's `replace(tzinfo=tz)` (fold=0)
        gives it; an hour whose offset changes within it (a DST switch off the hour) sends the batch away. A
        time in a DST gap or fold adds (record, `place`, `column`, warning) to `shifted`, worded as the exact
        reader words it."""
        value = _clean(cells)
        empty = value == ""
        if (required and empty.any()) or not (empty | value.str.contains(_DATETIME)).all():
            raise _Unfit
        seconds = where(value.str.count_matches(":") == 1, value + ":00", value)
        local = seconds.str.replace_all("/", "-").str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False, time_unit="us")
        if (local.is_null() & ~empty).any():
            raise _Unfit  # 2023-02-30 and the like: the exact reader words the error
        years = local.dt.year().drop_nulls()
        if len(years) and (years.min() < 2 or years.max() > 9998):
            raise _Unfit  # near the ends of Python's dates: the exact reader words any overflow
        offsets, shifts = self._offsets.of(local.dt.epoch("s") // 3600)
        instants = pl.select(local - pl.duration(microseconds=offsets)).to_series()
        for i in shifts.arg_true().to_list() if shifted is not None else ():
            shifted.append((i, place, column, local_time_warning(local[i].replace(tzinfo=self.tz))))
        return instants


class _HourOffsets:
    """The UTC offset (µs) of each local wall-clock hour, from zoneinfo as the exact reader's `replace(tzinfo=tz)`
    (fold=0) gives it. The hours of the span the batches cover are kept in one array, so a batch's offsets are one
    gather instead of a lookup per distinct hour (7,000 of them in a batch of two years' orders). Hours are
    counted from 1970-01-01 00:00 local. An hour whose offset changes within it (a DST switch off the hour) is
    marked; a batch with a time in one is unfit for the fast path. Hours in a DST gap or fold (where fold=1
    would read another offset) are kept in a second table, for the warnings."""

    MAX_HOURS = 20 * 8784  # twenty years: 1.4 MB; a batch spanning more is looked up hour by hour
    _CHANGES = -(2**63)
    _EPOCH = dt.datetime(1970, 1, 1)

    def __init__(self, tz):
        self.tz = tz
        self._first = 0
        self._table = pl.Series([], dtype=pl.Int64)
        self._shifts = pl.Series([], dtype=pl.Boolean)

    def of(self, hours: pl.Series) -> tuple[pl.Series, pl.Series]:
        """The offsets of these local hour numbers (null where the hour is null), and whether each is in a DST gap
        or fold (False where null)."""
        low, high = hours.min(), hours.max()
        if low is None:
            return pl.Series([None] * len(hours), dtype=pl.Int64), pl.Series([False] * len(hours))
        if high - low < self.MAX_HOURS:
            self._cover(low, high)
            offsets = self._table.gather(hours - self._first)
            shifts = self._shifts.gather(hours - self._first)
        else:
            distinct = hours.drop_nulls().unique()
            offsets = hours.replace_strict(distinct, self._hours(distinct.to_list()), default=None,
                                           return_dtype=pl.Int64)
            shifts = hours.replace_strict(distinct, [self._shifted(h) for h in distinct.to_list()], default=None,
                                          return_dtype=pl.Boolean)
        if (offsets == self._CHANGES).any():
            raise _Unfit
        return offsets, shifts.fill_null(False)

    def _cover(self, low: int, high: int) -> None:
        """Extend the table to hours low…high, computing only the hours it lacks (past MAX_HOURS in all it starts
        again from this span)."""
        first, last = self._first, self._first + len(self._table) - 1
        if not len(self._table) or max(high, last) - min(low, first) >= self.MAX_HOURS:
            self._table, self._shifts, self._first = self._span(low, high), self._shifts_of(low, high), low
            return
        if low < first:
            self._table = pl.concat([self._span(low, first - 1), self._table])
            self._shifts, self._first = pl.concat([self._shifts_of(low, first - 1), self._shifts]), low
        if high > last:
            self._table = pl.concat([self._table, self._span(last + 1, high)])
            self._shifts = pl.concat([self._shifts, self._shifts_of(last + 1, high)])

    def _shifts_of(self, low: int, high: int) -> pl.Series:
        return pl.Series([self._shifted(h) for h in range(low, high + 1)], dtype=pl.Boolean)

    def _shifted(self, hour: int) -> bool:
        """Whether local hour number `hour` is in a DST gap or fold (as readers.local_time_warning tells)."""
        local = (self._EPOCH + dt.timedelta(hours=hour)).replace(tzinfo=self.tz)
        return local.utcoffset() != local.replace(fold=1).utcoffset()

    def _span(self, low: int, high: int) -> pl.Series:
        """Hours low…high. An hour can only change its offset within it if the next hour starts at another
        offset, so the end of an hour is asked only there: one zoneinfo call an hour, not two."""
        starts = [self._at(h, 0) for h in range(low, high + 2)]
        return pl.Series([start if start == after or self._at(h, 3599) == start else self._CHANGES
                          for h, start, after in zip(range(low, high + 1), starts, starts[1:])], dtype=pl.Int64)

    def _hours(self, hours: list[int]) -> pl.Series:
        """These hours, each asked at its start and end (for a batch spanning more than MAX_HOURS)."""
        starts = [self._at(h, 0) for h in hours]
        return pl.Series([start if self._at(h, 3599) == start else self._CHANGES for h, start in zip(hours, starts)],
                         dtype=pl.Int64)

    def _at(self, hour: int, second: int) -> int:
        """The offset in µs at `second` into local hour number `hour`."""
        local = self._EPOCH + dt.timedelta(hours=hour, seconds=second)
        return local.replace(tzinfo=self.tz).utcoffset() // dt.timedelta(microseconds=1)


def _number(cells: pl.Series) -> pl.Series:
    """Order numbers, unfit when empty or longer than the column (the exact reader refuses those)."""
    if (cells == "").any() or (cells.str.len_chars() > NUMBER_LENGTH).any():
        raise _Unfit
    return cells


def _taobao_address(chosen: pl.Series) -> dict[str, pl.Series]:
    """readers.taobao_address over a column of cleaned addresses (`修改后的收货地址` where set, else `收货地址`):
    Polars for addresses whose first three parts are split by single spaces, addresses.china_parts for the rest."""
    rest = _without_postal_code(chosen)
    postcode = chosen.str.extract(_POSTAL_DIGITS, 1).fill_null("")
    other = (chosen.str.contains(_ENDS_IN_PAREN) & ~chosen.str.contains(_POSTAL_ASCII)).arg_true()
    if len(other):
        postcode = postcode.scatter(other, [split_postal_code(a)[1] for a in chosen.gather(other).to_list()])
    parts = rest.str.split(" ")
    province, city, district = (parts.list.get(i, null_on_oob=True).fill_null("") for i in range(3))
    odd = (~rest.str.contains(_THREE_PARTS) | rest.str.contains(_OTHER_SPACE)) & (rest != "")
    if odd.any():
        at = odd.arg_true()
        split = [addresses.china_parts(a) for a in rest.gather(at).to_list()]
        province, city, district = (series.scatter(at, [p[i] for p in split])
                                    for i, series in enumerate((province, city, district)))
    empty = rest == ""
    province = where(empty, "", province.replace(addresses.MUNICIPALITIES).str.slice(0, addresses.FIELD_LENGTH))
    country = where(empty, "", province.replace_strict(addresses.REGION_COUNTRY, default="CN",
                                                       return_dtype=pl.String))
    return {"receiver_address": rest.str.slice(0, 300), "postcode": postcode, "country": country,
            "province": province, "city": where(empty, "", city.str.slice(0, addresses.FIELD_LENGTH)),
            "district": where(empty, "", district.str.slice(0, addresses.FIELD_LENGTH))}


def _money_statuses() -> list[str]:
    return [str(status) for status in MONEY_STATUSES]


def _clean(cells: pl.Series) -> pl.Series:
    """readers.clean over a column: the two usual markers stripped here (`="1930…"`, `'138…` with nothing else
    to strip), `clean` itself for the other cells it changes, the rest as they are."""
    changed = cells.str.contains(_NEEDS_CLEAN)
    if not changed.any():
        return cells
    marked = cells.str.extract(_FORMULA_TEXT, 1).fill_null(cells.str.extract(_QUOTED_TEXT, 1))
    value = where(marked.is_not_null(), marked, cells)
    rest = (changed & marked.is_null()).arg_true()
    if len(rest) == 0:
        return value
    return value.scatter(rest, [clean(cell) for cell in cells.gather(rest).to_list()])


def _required(cells: pl.Series) -> pl.Series:
    if (cells == "").any():
        raise _Unfit
    return cells


def _mapped(cells: pl.Series, convert) -> pl.Series:
    """A column of few distinct values through `convert` (None = not readable here), once per value."""
    mapping = {value: convert(value) for value in cells.unique().to_list()}
    if any(target is None for target in mapping.values()):
        raise _Unfit
    return cells.replace_strict({key: str(target) for key, target in mapping.items()}, return_dtype=pl.String)


def _money(cells: pl.Series) -> pl.Series:
    """Amounts as numeric text with two decimals ("129" → "129.00"; empty → "0.00"), like parse_money."""
    value = _clean(cells)
    empty = value == ""
    if not (empty | value.str.contains(_MONEY)).all():
        raise _Unfit
    return pl.select(
        pl.when(empty).then(pl.lit("0.00"))
        .when(~value.str.contains(".", literal=True)).then(value + ".00")
        .when(value.str.contains(r"\.[0-9]$")).then(value + "0")
        .otherwise(value)
    ).to_series()


def _without_postal_code(addresses: pl.Series) -> pl.Series:
    """split_postal_code's address part: the regex here where its six digits are ASCII, the function itself for
    the rest that end in a bracket (its \\d also takes other scripts' digits)."""
    stripped = addresses.str.replace(_POSTAL_ASCII, "").str.strip_chars()
    other = (addresses.str.contains(_ENDS_IN_PAREN) & ~addresses.str.contains(_POSTAL_ASCII)).arg_true()
    if len(other) == 0:
        return stripped
    return stripped.scatter(other, [split_postal_code(a)[0] for a in addresses.gather(other).to_list()])


def plan_for(opened: OpenedFile, *, store_id: int) -> Plan | None:
    """The fast path's plan for this file, or None for formats and layouts only the exact reader takes (Shopify,
    CDNOW, a Taobao item report, generic files with order lines). RowError for a missing required column, as the
    exact reader raises it."""
    if opened.format == "taobao" and not opened.items_path:
        return Plan(opened, _Columns(opened.path, opened.header, TAOBAO_REQUIRED, fmt="Taobao order report",
                                     column_map=opened.column_map), store_id=store_id)
    if opened.format == "generic":
        cols = _Columns(opened.path, opened.header, GENERIC_REQUIRED, fmt="generic", column_map=opened.column_map,
                        lower=True)
        if not any(cols.has(name) for name in GENERIC_LINE_COLUMNS):
            return Plan(opened, cols, store_id=store_id)
    return None


class Batches:
    """The file's records in lists of about `size`, each ending where an order ends; `rest()` is what is left.

    A record that cannot be read (broken quoting, bytes of another encoding) ends the batch before it and is
    kept in `error`: `rest()` raises it after the records before it, where the exact reader would have."""

    def __init__(self, lines: Iterator[tuple[int, list[str]]], *, number_at: int | None, size: int):
        self._lines, self._number_at, self._size = lines, number_at, size
        self._next: list[tuple[int, list[str]]] = []
        self.error: RowError | None = None

    def take(self) -> list[tuple[int, list[str]]]:
        records, self._next = self._next, []
        if self.error is not None:
            return records
        try:
            records += itertools.islice(self._lines, self._size - len(records))
            if records and self._number_at is not None:
                # The generic reader folds consecutive records with one order number into one order.
                last = self._number(records[-1])
                for record in self._lines:
                    if self._number(record) != last:
                        self._next = [record]
                        break
                    records.append(record)
        except RowError as error:
            self.error = error
        return records

    def rest(self) -> Iterator[tuple[int, list[str]]]:
        yield from self._next
        if self.error is not None:
            raise self.error
        yield from self._lines

    def _number(self, record: tuple[int, list[str]]) -> str:
        cells = record[1]
        return clean(cells[self._number_at]) if self._number_at < len(cells) else ""


class Unreadable:
    """A chunk the columnar path cannot read as text: read it (and the rest of the file) record by record."""


UNREADABLE = Unreadable()


@dataclasses.dataclass
class Chunk:
    """Whole records of a CSV export's text, as bytes: `records` of them on `lines` lines from line `first_line`,
    at byte `offset`."""

    data: bytes
    encoding: str
    offset: int
    first_line: int
    lines: int
    records: int
    whole: bool = True  # False: too long, a quote left open, or it splits a generic order's rows


class TextBatches:
    """The file's data records in chunks of `size`, as bytes, for `Plan.parse_text` (Polars' CSV reader instead
    of the csv module: a third of an import's interpreter time). Only for a file whose header is its first line;
    `take` returns None at the end of the file. A chunk holding anything unusual comes back from parse_text as
    UNREADABLE, and the caller reads on from its `offset` record by record (readers.records_from).

    Records end at an LF after an even number of quotes since the chunk began: a quoted cell holds an even
    number of them (its two and each "" inside), so an LF inside one is not an end. (An odd number of quotes in
    an unquoted cell miscounts; parse_text then finds another number of records than counted and hands the
    chunk back.)
    LF and " are no part of a multi-byte character in UTF-8, GBK or GB18030, so the bytes are cut undecoded. A
    generic chunk must end where an order ends: when the next record carries the same order number (or cannot be
    read alone) the chunk is marked not whole, to be read record by record."""

    BLOCK = 8 * 2**20
    MAX_CHUNK = 8 * 2**20  # far below the csv module's field size limit (10 MB), which the text path does not check

    def __init__(self, path: str, encoding: str, *, start: int, size: int, number_at: int | None):
        self._handle = open(path, "rb")
        self._handle.seek(start)
        self._encoding = "utf-8" if encoding == "utf-8-sig" else encoding  # the BOM is behind `start`
        self._buffer = b""
        self._offset, self._line = start, 2
        self._size, self._number_at = size, number_at

    @classmethod
    def after_header(cls, path: str, encoding: str, header: list[str], *, size: int,
                     number_at: int | None) -> TextBatches | None:
        """From the second line on, if the first line is exactly the header record (else None)."""
        if encoding not in ("utf-8", "utf-8-sig", "gb18030"):
            return None
        with open(path, "rb") as handle:
            first = handle.readline(2**20)
        if not first.endswith(b"\n") or b"\r" in first[:-2] or b'"' in first:
            return None
        try:
            cells = next(csv.reader([first.decode(encoding).rstrip("\r\n")], strict=True))
        except (UnicodeDecodeError, csv.Error, StopIteration):
            return None
        if cells != header:
            return None
        return cls(path, encoding, start=len(first), size=size, number_at=number_at)

    def _fill(self) -> bool:
        """One more block into the buffer; False at the end of the file."""
        block = self._handle.read(self.BLOCK)
        self._buffer += block
        return bool(block)

    def _records(self, wanted: int, *, limit: int) -> tuple[int, int, int, bool, int]:
        """Where `wanted` records from the buffer's start end (or fewer, at the file's end or past `limit`
        bytes): (end, lines, records, quote left open, start of the last record)."""
        buffer = self._buffer
        end = lines = records = odd = last = start = 0
        while records < wanted and end <= limit:
            found = buffer.find(b"\n", end)
            if found < 0:
                if self._fill():
                    buffer = self._buffer
                    continue
                if end == len(buffer):
                    break
                found = len(buffer)  # the last line, without LF
            odd ^= buffer.count(b'"', end, found) & 1
            end, lines = min(found + 1, len(buffer)), lines + 1
            if not odd:
                records += 1
                last, start = start, end
        return end, lines, records, bool(odd), last

    def take(self) -> Chunk | None:
        end, lines, records, open_quote, last = self._records(self._size, limit=self.MAX_CHUNK)
        if lines == 0:
            self._handle.close()
            return None
        data, self._buffer = self._buffer[:end], self._buffer[end:]
        chunk = Chunk(data=data, encoding=self._encoding, offset=self._offset, first_line=self._line, lines=lines,
                      records=records, whole=not open_quote and end <= self.MAX_CHUNK)
        self._offset += end
        self._line += lines
        if chunk.whole and self._number_at is not None:
            chunk.whole = self._ends_an_order(data[last:])
        return chunk

    def _ends_an_order(self, last: bytes) -> bool:
        end, _, records, _, _ = self._records(1, limit=self.MAX_CHUNK)
        if records == 0:
            return not self._buffer  # the end of the file, or a record that does not end
        numbers = [self._number(record) for record in (last, self._buffer[:end])]
        return None not in numbers and numbers[0] != numbers[1]

    def _number(self, record: bytes) -> str | None:
        try:
            cells = next(csv.reader(io.StringIO(record.decode(self._encoding), newline=""), strict=True))
        except (UnicodeDecodeError, csv.Error, StopIteration):
            return None
        return clean(cells[self._number_at]) if self._number_at < len(cells) else None

    def close(self) -> None:
        self._handle.close()
