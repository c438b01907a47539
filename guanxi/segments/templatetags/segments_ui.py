"""Template filters for segment pages: score codes in the reader's language, sort links."""

from django import template
from django.utils.encoding import force_str

from guanxi.segments.fields import fields

register = template.Library()


@register.filter
def choice_label(value, field_key: str) -> str:
    """'champions' → 'Champions' / '重要价值客户' for the field's fixed choices; other values unchanged."""
    if value in (None, ""):
        return ""
    field = fields().get(field_key)
    if field is not None and field.choices:
        for code, label in field.choices:
            if code == value:
                return force_str(label)
    return str(value)


@register.simple_tag
def sort_link(current: str, key: str) -> str:
    """The sort value a column header links to: descending first, then ascending when already descending."""
    return key if current == f"-{key}" else f"-{key}"


@register.filter
def percent(value) -> str:
    if value is None:
        return "—"
    return f"{float(value) * 100:.0f}%"
