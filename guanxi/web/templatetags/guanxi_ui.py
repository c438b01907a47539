"""Template filters for the UI: money, masked contact details, status badges, initials."""

from decimal import Decimal, InvalidOperation

from django import template
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from guanxi.customers.masking import mask_address, mask_phone

register = template.Library()

_SYMBOLS = {"CNY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "HKD": "HK$", "TWD": "NT$"}


@register.filter
def money(amount, currency: str = "CNY") -> str:
    """'¥1,234.50' — grouped digits, two decimals, the currency's symbol (its code when it has no known symbol)."""
    if amount is None or amount == "":
        return "—"
    try:
        value = Decimal(amount)
    except (InvalidOperation, TypeError, ValueError):
        return str(amount)
    symbol = _SYMBOLS.get((currency or "").upper(), f"{currency} " if currency else "")
    sign = "-" if value < 0 else ""
    return f"{sign}{symbol}{abs(value):,.2f}"


@register.filter
def phone(value: str, can_see: bool) -> str:
    """The phone in full for roles with Perm.SEE_CONTACT, masked for the others."""
    return value if can_see else mask_phone(value)


@register.filter
def address(value: str, can_see: bool) -> str:
    return value if can_see else mask_address(value)


@register.filter
def identity_value(identity, can_see: bool) -> str:
    """An identity's value as this role may see it (phones masked)."""
    if identity.kind == "phone" and not can_see:
        return mask_phone(identity.value)
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
    return user.get_full_name() or user.get_username()
