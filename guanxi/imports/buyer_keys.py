"""The identity keys that name an order's buyer: (kind, normalised value, store id or None), strongest first.

Both import paths (the exact per-row reader and the columnar fast path) build keys here, from plain values, so
they match buyers the same way.
"""

from __future__ import annotations

import re

import polars as pl
from django.core.exceptions import ValidationError

from guanxi.customers import identity
from guanxi.customers.identity import is_masked, normalize_email, normalize_phone
from guanxi.customers.models import IdentityKind
from guanxi.imports.series import where

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


# The same keys for a whole batch of orders (the columnar fast path) -------------------------------------------

# is_masked's rule, for Polars; a masked value never reaches the per-value functions below.
_MASKED = identity._MASK.pattern
_ASCII = r"^[\x00-\x7f]*$"  # where Polars' lower-casing and stripping are Python's (U+001C–U+001F aside: see columnar)
_CN_MOBILE = r"^(?:\+86)?(1[0-9]{10})$"  # normalize_phone's fast case, ASCII digits only


def _by_python(raw: pl.Series, done: pl.Series, todo: pl.Series, function) -> list:
    """`done` as a list, with `function(raw cell)` in the rows where `todo` is true."""
    result = done.to_list()
    rows = todo.arg_true()
    for i, cell in zip(rows.to_list(), raw.gather(rows).to_list()):
        result[i] = function(cell)
    return result


def _phone_or_none(raw: str) -> str | None:
    try:
        return normalize_phone(raw)
    except ValidationError:
        return None


def _phones(raw: pl.Series) -> list[str | None]:
    """normalize_phone of each unmasked non-empty cell, None where it refuses. Mainland mobiles are done here;
    a prefix's validity is asked of normalize_phone with the batch's first number that has it, as row-by-row
    calls would (it decides once per 7-digit prefix)."""
    value = raw.str.strip_chars().str.strip_chars_start("'").str.strip_chars()
    value = where(value.str.starts_with("00"), "+" + value.str.slice(2), value)
    compact = value.str.replace_all(" ", "", literal=True).str.replace_all("-", "", literal=True)
    masked = raw.str.contains(_MASKED)
    national = where(~masked, compact.str.extract(_CN_MOBILE, 1))
    prefix = national.str.slice(0, 7)
    firsts = pl.DataFrame({"raw": raw, "prefix": prefix}).drop_nulls().unique("prefix", keep="first",
                                                                             maintain_order=True)
    valid = {p: _phone_or_none(first) is not None for p, first in zip(firsts["prefix"], firsts["raw"])}
    done = where(prefix.replace_strict(valid, default=False, return_dtype=pl.Boolean), "+86" + national)
    return _by_python(raw, done, national.is_null() & ~masked & (raw != ""), _phone_or_none)


def _lowered(raw: pl.Series, shape: str | None, function) -> list[str | None]:
    """`function` of each unmasked non-empty cell, done here (strip, lower-case) for ASCII cells that match
    `shape` (if given) and fit in 255 characters."""
    value = raw.str.strip_chars().str.to_lowercase()
    masked = raw.str.contains(_MASKED)
    simple = ~masked & raw.str.contains(_ASCII) & (value != "") & (value.str.len_chars() <= 255)
    if shape is not None:
        simple = simple & value.str.contains(shape)
    done = where(simple, value)
    return _by_python(raw, done, ~simple & ~masked & (raw != ""), function)


def buyer_keys_of_columns(*, email: pl.Series, phone: pl.Series, alipay: pl.Series, member_id: pl.Series,
                          name: pl.Series, number: pl.Series, member_kind: str, store_id: int) -> list[list[Key]]:
    """buyer_keys of every row of these columns, equal to calling it row by row (tested), at ~2 µs a row instead
    of ~8: the common cells are normalised by Polars, the others by the same functions buyer_keys calls."""
    emails = _lowered(email, "^" + _PLAIN_EMAIL.pattern + "$", email_key)
    phones = _phones(phone)
    alipay_phones = _phones(where(alipay.str.contains("@", literal=True), "", alipay))
    alipays = _lowered(alipay, None, lambda raw: raw.strip().lower()[:255])
    members = member_id.str.slice(0, 255).to_list()
    member_kind, member_store = (BUYER_NICK, None) if member_kind == "buyer_nick" else (BUYER_ID, store_id)
    # One key (or None) per row for each kind, in buyer_keys' order; rows are put together column by column,
    # which costs a fraction of building each row's list key by key.
    columns = [
        [None if e is None else (EMAIL, e, None) for e in emails],
        [None if p is None else (PHONE, p, None) for p in phones],
        # an Alipay account that is the contact phone again: the only key that can repeat within a row
        [None if q is None or q == p else (PHONE, q, None) for p, q in zip(phones, alipay_phones)],
        [None if a is None else (ALIPAY, a, None) for a in alipays],
        [(member_kind, m, member_store) if m else None for m in members],
    ]
    columns = [column for column in columns if column.count(None) < len(column)]
    rows = list(map(list, zip(*columns))) if columns else [[] for _ in range(len(number))]
    gaps = sorted({i for column in columns for i in _nones(column)}) if columns else range(len(rows))
    if gaps:
        names, numbers = name.to_list(), number.to_list()
        for i in gaps:
            keys = [key for key in rows[i] if key is not None]
            rows[i] = keys or [(BUYER_ID, (f"name:{names[i]}" if names[i] else f"order:{numbers[i]}")[:255],
                                store_id)]
    return rows


def _nones(column: list) -> list[int]:
    """Positions of None in `column`."""
    return [i for i, key in enumerate(column) if key is None]
