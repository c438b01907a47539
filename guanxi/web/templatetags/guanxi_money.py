"""`{% missing_rates_notice %}`: the warning every page with figures across stores shows while a currency has no
exchange rate for some of its orders (those orders are left out of the figures, never added raw)."""

from django import template

from guanxi.commerce.money import stores_missing_rates

register = template.Library()


@register.inclusion_tag("web/_missing_rates.html", takes_context=True)
def missing_rates_notice(context, missing=None) -> dict:
    """The notice for `missing` (currency codes), or for the active workspace's stores when it is not given."""
    if missing is None:
        missing = stores_missing_rates()
    return {"missing": list(missing), "currencies": ", ".join(missing), "workspace": context.get("workspace"),
            "can_manage": context.get("can_manage", False)}
