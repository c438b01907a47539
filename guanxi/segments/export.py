"""Exporting a segment's members to CSV or XLSX, streamed in chunks so a million members fit in constant memory.

Cells are injection-safe: text that a spreadsheet would run as a formula (starting with = + - @, a tab or a
carriage return) is written with a leading apostrophe, in both formats. The XLSX leaves out the control characters
its XML cannot hold (U+0000–U+001F but tab, newline and carriage return: openpyxl refuses them), before that check,
so that "\x01=cmd" cannot become a formula; the CSV keeps every character as stored. Phones and addresses are masked unless the
exporting role may see contact details (Perm.SEE_CONTACT).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zoneinfo
from decimal import Decimal
from pathlib import Path
from typing import IO, Iterator

from django.utils.translation import gettext as _

from guanxi.customers.masking import mask_address, mask_phone
from guanxi.customers.models import IdentityKind
from guanxi.segments.models import Segment
from guanxi.segments.selectors import members_with_contacts, segment_members
from guanxi.web.labels import code_label
from guanxi.workspaces.tenancy import current_workspace

FORMATS = ("csv", "xlsx")
CHUNK = 2000
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A phone such as "+8613812345678" or "+86 138****5678" starts with "+" but cannot run anything: kept as it is.
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9][0-9 .*]*")


def safe_cell(value):
    """`value` as a spreadsheet cell that is never a formula; numbers, dates and empties pass unchanged."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def columns() -> list[str]:
    """The header; total paid and CLV are in the reporting currency (the Currency column)."""
    return [
        _("Customer ID"), _("Name"), _("Gender"), _("Phone"), _("Email"), _("Province"), _("City"), _("Address"),
        _("Tags"), _("Owner"), _("Orders"), _("Total paid"), _("Currency"), _("Last order"), _("RFM segment"), _("Value class"),
        _("Lifecycle stage"), _("CLV"), _("Still buying (probability)"), _("Churn risk"), _("In segment since"),
    ]


def member_rows(segment: Segment, *, see_contact: bool) -> Iterator[list]:
    """One row per current member (the columns of `columns()`), in customer id order."""
    tz = zoneinfo.ZoneInfo(current_workspace().time_zone)
    currency = current_workspace().currency  # of total paid and CLV: figures across stores are converted to it
    members = members_with_contacts(segment_members(segment).order_by("customer_id"))
    for member in members.iterator(chunk_size=CHUNK):
        customer = member.customer
        identities = list(customer.identities.all())
        phone = next((i.value for i in identities if i.kind == IdentityKind.PHONE), "") or customer.display_phone
        email = next((i.value for i in identities if i.kind == IdentityKind.EMAIL), "")
        score = getattr(customer, "score", None)
        facts = getattr(customer, "segment_facts", None)
        yield [
            customer.pk, customer.name, customer.get_gender_display() if customer.gender else "",
            phone if see_contact else mask_phone(phone), email, customer.province, customer.city,
            customer.address if see_contact else mask_address(customer.address),
            ", ".join(sorted(ct.tag.name for ct in customer.customer_tags.all())),
            customer.owner.username if customer.owner else "",
            facts.paid_orders_count if facts else 0,
            facts.total_paid if facts else Decimal("0.00"), currency,
            facts.last_order_at.astimezone(tz).date() if facts and facts.last_order_at else None,
            code_label("rfm_segment", score.rfm_segment if score else ""),
            code_label("value_class", score.value_class if score else ""),
            code_label("stage", score.lifecycle_stage if score and score.lifecycle_stage else customer.lifecycle_stage),
            score.clv if score else None, score.p_alive if score else None,
            code_label("churn_risk", score.churn_risk if score else ""),
            member.entered_at.astimezone(tz).replace(tzinfo=None),
        ]


def write_csv(segment: Segment, out: IO[str], *, see_contact: bool) -> int:
    """UTF-8 with a BOM (so spreadsheet programs read Chinese correctly); returns the rows written."""
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(columns())
    count = 0
    for row in member_rows(segment, see_contact=see_contact):
        writer.writerow([_csv_value(safe_cell(v)) for v in row])
        count += 1
    return count


def _csv_value(value):
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return value


def csv_chunks(segment: Segment, *, see_contact: bool) -> Iterator[str]:
    """The CSV as a stream of text chunks, for a streaming HTTP response."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(columns())
    for index, row in enumerate(member_rows(segment, see_contact=see_contact)):
        writer.writerow([_csv_value(safe_cell(v)) for v in row])
        if index % 500 == 499:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def write_xlsx(segment: Segment, out: IO[bytes] | str | Path, *, see_contact: bool) -> int:
    """An .xlsx workbook written in openpyxl's write-only mode (rows stream to disk); returns the rows written."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_("Members")[:31])
    sheet.append(columns())
    count = 0
    for row in member_rows(segment, see_contact=see_contact):
        cells = []
        for value in row:
            if isinstance(value, str):
                value = ILLEGAL_CHARACTERS_RE.sub("", value)
            value = safe_cell(value)
            if isinstance(value, Decimal):
                value = float(value)
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # never "f": openpyxl would store text starting with "=" as a formula
            elif isinstance(value, dt.date):
                cell.number_format = "yyyy-mm-dd hh:mm" if isinstance(value, dt.datetime) else "yyyy-mm-dd"
            cells.append(cell)
        sheet.append(cells)
        count += 1
    workbook.save(out)
    return count


def export_segment(segment: Segment, *, fmt: str, path: str | Path, see_contact: bool) -> int:
    """Write the members to `path` as `fmt` (csv or xlsx); returns the rows written."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r} (csv or xlsx)")
    if fmt == "csv":
        with open(path, "w", encoding="utf-8", newline="") as handle:
            return write_csv(segment, handle, see_contact=see_contact)
    return write_xlsx(segment, str(path), see_contact=see_contact)
