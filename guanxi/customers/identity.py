"""Normalising identity values so the same person is recognised however a value was written.

Phones become E.164 (Chinese mobiles by default region CN: "138 1234 5678" → "+8613812345678"); emails are
lower-cased; masked values such as "138****5678" (what platforms now show) are recognised and refused as
identities — they may be kept for display only.
"""

import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from guanxi.customers.models import IdentityKind

_MASK = re.compile(r"[*＊×xX]{3,}|\*{2,}")


def is_masked(raw: str) -> bool:
    """True for values a platform masked ("138****5678", "j***@example.com")."""
    return bool(_MASK.search(raw or ""))


_CN_MOBILE = re.compile(r"(?:\+86)?(1\d{10})")
_CN_PREFIX_VALID: dict[str, bool] = {}


def _cn_mobile(value: str, region: str) -> str | None:
    """Fast path for the common case, a mainland mobile: phonenumbers.parse costs ~50 µs, too slow for imports of
    millions of rows. Validity of an 11-digit mobile depends only on its leading digits, so phonenumbers decides
    once per 7-digit prefix. None means "not this case" (the full parser decides); "" means an invalid mobile."""
    compact = value.replace(" ", "").replace("-", "")
    if region != "CN" and not compact.startswith("+86"):
        return None
    match = _CN_MOBILE.fullmatch(compact)
    if match is None:
        return None
    national = match.group(1)
    valid = _CN_PREFIX_VALID.get(national[:7])
    if valid is None:
        if len(_CN_PREFIX_VALID) > 200_000:
            _CN_PREFIX_VALID.clear()
        valid = _CN_PREFIX_VALID[national[:7]] = phonenumbers.is_valid_number(phonenumbers.parse("+86" + national))
    return "+86" + national if valid else ""


def normalize_phone(raw: str, *, region: str = "CN") -> str:
    """E.164 form of a phone number; ValidationError if it is masked or not a valid number.

    Export quirks are tolerated: a leading apostrophe (spreadsheet text marker), spaces, dashes, "0086"/"+86".
    """
    value = (raw or "").strip().lstrip("'").strip()
    if is_masked(value):
        raise ValidationError(_("A masked phone number (%(value)s) cannot identify a customer.") % {"value": value})
    if value.startswith("00"):
        value = "+" + value[2:]
    fast = _cn_mobile(value, region)
    if fast is not None:
        if fast:
            return fast
        raise ValidationError(_("“%(value)s” is not a valid phone number.") % {"value": raw})
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        raise ValidationError(_("“%(value)s” is not a phone number.") % {"value": raw}) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(_("“%(value)s” is not a valid phone number.") % {"value": raw})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(raw: str) -> str:
    value = (raw or "").strip().lower()
    if is_masked(value):
        raise ValidationError(_("A masked email address cannot identify a customer."))
    try:
        validate_email(value)
    except ValidationError:
        raise ValidationError(_("“%(value)s” is not a valid email address.") % {"value": raw}) from None
    return value


def normalize_identity(kind: str, raw: str) -> str:
    """The canonical value for an identity of `kind`; ValidationError when it cannot identify anyone."""
    if kind not in IdentityKind.values:
        raise ValidationError(_("Unknown identity kind “%(kind)s”.") % {"kind": kind})
    if kind == IdentityKind.PHONE:
        return normalize_phone(raw)
    if kind == IdentityKind.EMAIL:
        return normalize_email(raw)
    value = (raw or "").strip()
    if not value:
        raise ValidationError(_("An identity value is required."))
    if is_masked(value):
        raise ValidationError(_("A masked value (%(value)s) cannot identify a customer.") % {"value": value})
    return value


def identity_tail(kind: str, value: str) -> str:
    """What "find by last digits" searches: the last 4 characters of the normalised value (a phone's digits)."""
    return value[-4:]
