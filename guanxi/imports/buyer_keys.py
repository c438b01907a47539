"""The identity keys that name an order's buyer: (kind, normalised value, store id or None), strongest first.

Both import paths (the exact per-row reader and the columnar fast path) build keys here, from plain values, so
they match buyers the same way.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

from guanxi.customers.identity import is_masked, normalize_email, normalize_phone
from guanxi.customers.models import IdentityKind

Key = tuple[str, str, int | None]

_LOOSE_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# A strict subset of what Django's EmailValidator accepts (ASCII dot-atom local part, LDH labels, a letters-only
# TLD): such an address is valid without running the validator, which costs ~5 µs a call — a third of an
# import's per-order budget. Everything else still goes through the validator; tests/test_import_fast_path.py
# checks the subset claim on tricky addresses.
_PLAIN_EMAIL = re.compile(
    r"[a-z0-9_+-]+(?:\.[a-z0-9_+-]+)*"
    r"@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.[a-z]{2,63}")

EMAIL, PHONE, ALIPAY = IdentityKind.EMAIL.value, IdentityKind.PHONE.value, IdentityKind.ALIPAY.value
BUYER_NICK, BUYER_ID = IdentityKind.BUYER_NICK.value, IdentityKind.BUYER_ID.value


def email_key(raw: str) -> str | None:
    """The normalised email of an unmasked address, or None when it cannot identify anyone."""
    value = raw.strip().lower()
    if len(value) <= 255 and _PLAIN_EMAIL.fullmatch(value):
        return value
    try:
        return normalize_email(raw)
    except ValidationError:
        # Django's validator refuses internationalised local parts ("mei.müller@…"), which shops do send.
        if _LOOSE_EMAIL.fullmatch(raw.strip()):
            return raw.strip().lower()[:255]
    return None


def buyer_keys(*, email: str, phone: str, alipay: str, member_id: str, member_kind: str, name: str, number: str,
               store_id: int) -> list[Key]:
    """Keys of one buyer: email, phones (the contact phone, an Alipay account that is a phone), Alipay account,
    platform member id (a Taobao nick across stores; a store's own customer id within the store); failing all of
    those the billing name within the store (Shopify), failing that the order itself (a re-import finds the same
    customer). Masked values never identify anyone."""
    keys: list[Key] = []
    if email and not is_masked(email):
        value = email_key(email)
        if value is not None:
            keys.append((EMAIL, value, None))
    for raw in (phone, alipay if alipay and "@" not in alipay else ""):
        if raw and not is_masked(raw):
            try:
                keys.append((PHONE, normalize_phone(raw), None))
            except ValidationError:
                pass
    if alipay and not is_masked(alipay):
        keys.append((ALIPAY, alipay.strip().lower()[:255], None))
    if member_id and member_kind == "buyer_nick":
        keys.append((BUYER_NICK, member_id[:255], None))
    elif member_id:
        keys.append((BUYER_ID, member_id[:255], store_id))
    if not keys and name:
        keys.append((BUYER_ID, f"name:{name}"[:255], store_id))
    if not keys:
        keys.append((BUYER_ID, f"order:{number}"[:255], store_id))
    return list(dict.fromkeys(keys))
