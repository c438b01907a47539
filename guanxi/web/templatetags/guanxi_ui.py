"""Template filters for the UI: money, masked contact details, status badges, initials."""

import zlib
from decimal import Decimal, InvalidOperation

import phonenumbers
from django import template
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from guanxi.customers.masking import mask_address, mask_phone
from guanxi.web.icons import icon_svg

register = template.Library()

_SYMBOLS = {"CNY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "JP¥", "HKD": "HK$", "TWD": "NT$"}
# Chinese readers see "$" as any dollar: the US one is written US$ there (¥ stays the yuan's).
_SYMBOLS_ZH = {**_SYMBOLS, "USD": "US$"}


def money_text(amount, currency: str) -> str:
    """`amount` (Decimal, number or numeric text) in `currency` as the active language writes it: grouped
    digits, two decimals, the currency's symbol (its code when it has none); '—' for no amount."""
    if amount is None or amount == "":
        return "—"
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, TypeError, ValueError):
        return str(amount)
    if not value.is_finite():
        return "—"
    symbols = _SYMBOLS_ZH if (get_language() or "").startswith("zh") else _SYMBOLS
    code = (currency or "").upper()
    symbol = symbols.get(code, f"{code} " if code else "")
    sign = "-" if value < 0 else ""
    return f"{sign}{symbol}{abs(value):,.2f}"


@register.filter
def money(amount, currency: str) -> str:
    """`{{ amount|money:currency }}` — the one way templates show money (see `money_text`); the currency is
    always given: the order's or store's for one order, the reporting currency for figures across stores."""
    return money_text(amount, currency)


def _readable_phone(value: str) -> str:
    """'+8613812345678' → '+86 138 1234 5678' (grouped as people read it); anything else unchanged."""
    if not value.startswith("+"):
        return value
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return value
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


@register.filter
def phone(value: str, can_see: bool) -> str:
    """The phone in full for roles with Perm.SEE_CONTACT, masked for the others."""
    return _readable_phone(value or "") if can_see else mask_phone(value)


@register.filter
def address(value: str, can_see: bool) -> str:
    return value if can_see else mask_address(value)


@register.filter
def identity_value(identity, can_see: bool) -> str:
    """An identity's value as this role may see it (phones masked)."""
    if identity.kind == "phone":
        return _readable_phone(identity.value) if can_see else mask_phone(identity.value)
    return identity.value


@register.filter
def initials(name: str) -> str:
    """One or two letters for an avatar: the surname for Chinese names, initials otherwise."""
    name = (name or "").strip()
    if not name:
        return "?"
    if not name.isascii():
        return name[0]
    parts = name.split()
    return (parts[0][0] + (parts[-1][0] if len(parts) > 1 else "")).upper()


@register.filter
def dictget(mapping, key):
    if not mapping:
        return None
    return mapping.get(key)


@register.simple_tag
def days_label(days) -> str:
    if days is None:
        return "—"
    if days == 0:
        return _("today")
    return ngettext("%(days)s day", "%(days)s days", days) % {"days": days}


@register.simple_tag
def opportunity_stages():
    from guanxi.activities.models import OpportunityStage

    return OpportunityStage.choices


@register.filter
def person(user) -> str:
    """A user's full name, else the username; '—' for nobody."""
    if user is None:
        return "—"
    first, last = (user.first_name or "").strip(), (user.last_name or "").strip()
    if (first + last) and not (first + last).isascii():
        return f"{last}{first}"  # Chinese names: family name first, no space (林晓, not 晓 林)
    return user.get_full_name() or user.get_username()


# Tags keep the colour the shop chose; tags left at the default grey get a stable colour from their name.
_DEFAULT_TAG_COLOR = "#64748b"
_TAG_PALETTE = ("#2459c8", "#127a4a", "#b45309", "#7c3aed", "#be185d", "#0e7490", "#4d7c0f", "#c2410c")


@register.filter
def tag_color(tag) -> str:
    if tag.color and tag.color.lower() != _DEFAULT_TAG_COLOR:
        return tag.color
    return _TAG_PALETTE[zlib.crc32(tag.name.encode()) % len(_TAG_PALETTE)]


@register.filter
def number(value) -> str:
    """A Decimal without trailing zeros or exponent: 37.0000 → 37, 10.50 → 10.5."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return "" if value is None else str(value)


@register.simple_tag
def icon(name: str) -> str:
    """`{% icon "box" %}`: the named inline SVG icon (guanxi.web.icons)."""
    return mark_safe(icon_svg(name))  # our own constant markup


# The date filter formats through django.utils.dateformat, which reads its format string on every call: a third
# of an order's time in the 360 timeline. These two cover the timeline's fixed formats with one strftime each.
@register.filter(expects_localtime=True)
def minute(value) -> str:
    """A datetime in the active time zone to the minute, '2026-03-01 09:05' ('' for none)."""
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


@register.filter(expects_localtime=True)
def iso(value) -> str:
    """A datetime in the active time zone as ISO 8601 with its offset, for <time datetime> ('' for none)."""
    return value.isoformat(timespec="seconds") if value else ""


@register.filter
def change(value) -> str:
    """A relative change as '+12%' or '−5%' (a real minus sign); '—' when there is nothing to compare with."""
    if value is None:
        return "—"
    percent = round(value * 100)
    if percent == 0:
        return "±0%"
    return f"+{percent}%" if percent > 0 else f"−{-percent}%"


@register.filter
def change_class(value) -> str:
    """CSS class for a change: up, down or flat."""
    if value is None or round(value * 100) == 0:
        return "flat"
    return "up" if value > 0 else "down"


@register.filter
def label(code, kind: str) -> str:
    """`{{ r.status|label:"order_status" }}`: the words for a stored code (see guanxi.web.labels)."""
    from guanxi.web.labels import code_label

    return code_label(kind, code)
