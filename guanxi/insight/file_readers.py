"""`guanxi analytics fit` on the shop exports the importer reads: taobao, shopify and generic files.

`guanxi.analytics` knows only the CDNOW layouts and takes more through `register_reader`; these readers reuse the
importer's parsers (encodings, `="…"` numbers, statuses that bring money, Shopify's one row per line) so a file
means the same to the fit as to an import. Each order whose money was received becomes one purchase of its
buyer — the platform member id, else the email, phone or name, as the importer matches people within a file —
on the calendar day it was placed, in the server's time zone (`GUANXI_TIME_ZONE`).
"""

from __future__ import annotations

import zoneinfo
from pathlib import Path

import polars as pl
from django.conf import settings

from guanxi.analytics.errors import FileFormatError
from guanxi.analytics.readers import register_reader
from guanxi.imports.readers import MONEY_STATUSES, RowError, open_orders

EXPORT_FORMATS = ("taobao", "shopify", "generic")
_SCHEMA = {"customer_id": pl.Utf8, "date": pl.Date, "amount": pl.Float64}


def _buyer(order) -> str:
    return order.member_id or order.email.strip().lower() or order.phone or order.name


def read_export(path: Path, fmt: str) -> pl.DataFrame:
    """Paid orders of an export as a transaction frame: ``customer_id`` (text), ``date``, ``amount``."""
    tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    rows = []
    try:
        for order in open_orders(path, fmt=fmt, tz=tz).rows:
            if isinstance(order, RowError):
                raise order
            if order.status in MONEY_STATUSES and _buyer(order):
                rows.append((_buyer(order), order.placed_at.astimezone(tz).date(), float(order.paid_amount)))
    except RowError as error:
        where = f"line {error.line}" + (f", column {error.column}" if error.column else "")
        raise FileFormatError(f"{Path(path).name} {where}: {error.message}") from None
    return pl.DataFrame(rows, schema=_SCHEMA, orient="row")


def register_export_readers() -> None:
    """Make taobao, shopify and generic available to `guanxi.analytics.fit_file` (idempotent)."""
    for fmt in EXPORT_FORMATS:
        register_reader(fmt, lambda path, fmt=fmt: read_export(path, fmt))
