"""The stores of the generated demo shop: a Taobao seller with a Tmall flagship store and a small Shopify shop.

MISSION.md's user sells on Taobao and Tmall in yuan and abroad through Shopify in dollars. The generator
(`guanxi.demo.taobao`) splits `--orders` across these stores and lets some buyers shop in two of them under the
same phone or email, as the importers would find them: one customer, orders in both stores.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from guanxi.workspaces.models import Platform


@dataclasses.dataclass(frozen=True)
class StoreSpec:
    """One generated store. `abroad`: it sells to buyers outside mainland China (foreign addresses, carriers and
    order numbers like Shopify's `#1001`), in `currency`."""

    name: str
    platform: str
    currency: str
    abroad: bool = False


TAOBAO = StoreSpec("淘宝旗舰店", Platform.TAOBAO, "CNY")
TMALL = StoreSpec("天猫旗舰店", Platform.TMALL, "CNY")
SHOPIFY = StoreSpec("Shopify 海外站", Platform.SHOPIFY, "USD", abroad=True)
DEMO_STORES = (TAOBAO, TMALL, SHOPIFY)

# 1 USD in yuan, as the demo workspace's exchange rate and to price the Shopify store's goods. Illustrative only
# (about the 2024–2026 level), not a quote: a real shop enters its own rates in Settings or `guanxi rates set`.
USD_CNY = Decimal("7.2")

# Of a chunk's orders, the share that goes to the stores abroad (the rest to the Chinese ones), and of its
# customers the share who live abroad.
ABROAD_ORDER_SHARE = 0.10
ABROAD_CUSTOMER_SHARE = 0.10
# Of the buyers abroad, those who are Chinese and bought on Taobao before (same +86 mobile, nick and email).
OVERSEAS_CHINESE_SHARE = 0.3
# A Chinese buyer's stores when there are two: the first only, the second only, or both (orders alternate).
FIRST_ONLY, SECOND_ONLY = 0.62, 0.90  # cumulative: 62 %, 28 %, 10 %


def usd_price_cents(yuan: int) -> int:
    """The Shopify price (US cents) of a good sold on Taobao for `yuan`: about a fifth of it, ending in .99 —
    cross-border shops charge more than the yuan price converted at USD_CNY (duty, returns, ads)."""
    return max(499, -(-yuan // 5) * 100 - 1)


def usd_cost(yuan: int) -> str:
    """The unit cost in dollars (text with cents) of a good that costs the shop `yuan`, at USD_CNY."""
    return str((Decimal(yuan) / USD_CNY).quantize(Decimal("0.01")))
