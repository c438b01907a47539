"""Masking contact details for roles that may not see them (Perm.SEE_CONTACT): phones and street addresses.

Masked values keep what staff need to recognise a buyer in chat ("the one ending in 5678", "from Hangzhou")
and hide what would let someone call or visit them.
"""

import re

import phonenumbers

from guanxi.customers.identity import is_masked

_CJK = re.compile(r"[\u3400-\u9fff]")


def mask_phone(value: str) -> str:
    """'+8613812345678' → '+86 138****5678'; '13812345678' → '138****5678'; already masked values stay as they are."""
    value = (value or "").strip()
    if not value or is_masked(value):
        return value
    prefix = ""
    national = re.sub(r"\D", "", value)
    if value.startswith("+"):
        try:
            number = phonenumbers.parse(value, None)
            prefix = f"+{number.country_code} "
            national = str(number.national_number)
        except phonenumbers.NumberParseException:
            pass
    if len(national) >= 7:
        masked = national[:3] + "****" + national[-4:]
    elif len(national) > 2:
        masked = "*" * (len(national) - 2) + national[-2:]
    else:
        masked = "****"
    return prefix + masked


def mask_address(value: str) -> str:
    """Keep the region a buyer is from, hide the street: '浙江省杭州市西湖区文三路90号' → '浙江省杭州市****'.

    Addresses written in Latin script keep their last two comma-separated parts (city, country).
    """
    value = (value or "").strip()
    if not value:
        return ""
    if _CJK.search(value):
        return value[:6] + "****" if len(value) > 6 else "****"
    parts = [p.strip() for p in value.split(",") if p.strip()]
    if len(parts) >= 3:
        return "****, " + ", ".join(parts[-2:])
    return "****"
