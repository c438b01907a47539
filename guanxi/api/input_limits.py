"""What the API refuses before anything reaches the database: values no column can hold.

A request whose text holds a NUL character (PostgreSQL text cannot) or a lone UTF-16 surrogate such as "\\ud800"
(not encodable as UTF-8), an integer beyond 64 bits (no id, count or offset column holds it), a date or time at
the very edge of the calendar (year 1 or 9999: moving it into another time zone, or a day on, overflows), or a
list or mapping of more than MAX_ITEMS entries (one request must not hold the write lock for long) answers 422
in the API's error format, the offending field named, and nothing is changed.

Three places apply the rules, so that every operation gets them without remembering to:
- `GuanxiParser` (the API's body and query parser) walks every JSON body and every query, form value;
- `BoundedSchema` (base of every input and query schema) checks each typed field after parsing (ints, dates);
- `guanxi.api.urls` checks integer path parameters (ids).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils.translation import gettext as _
from ninja import Schema
from ninja.parser import Parser
from pydantic import field_validator
from pydantic_core import PydanticCustomError

# The largest value of a bigint column: every id, count and offset fits below it.
MAX_INT = 2**63 - 1
# PositiveIntegerField is a 32-bit integer on PostgreSQL (quantities).
MAX_INT32 = 2**31 - 1
# Lists and mappings in one request body (tags, identities, order lines, rule conditions), at any depth.
MAX_ITEMS = 100
# Years 1 and 9999 overflow when moved into UTC or a day on; nothing a shop records lies outside these.
MIN_YEAR, MAX_YEAR = 2, 9998
ERROR_TYPE = "unprocessable"  # pydantic error type that makes the API answer 422, not 400


class Unprocessable(Exception):
    """Input no column can hold: {field path: [messages]}."""

    def __init__(self, fields: dict[str, list[str]]):
        super().__init__(fields)
        self.fields = fields


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as text, or None."""
    if "\x00" in value:
        return _("Text must not contain NUL characters (\\u0000).")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return _("Text must not contain lone surrogate characters such as \\ud800.")
    return None


def value_problem(value: Any) -> str | None:
    """Why a parsed scalar (int, date, time, text) cannot be stored, or None. Containers are not looked into."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        if not -MAX_INT <= value <= MAX_INT:
            return _("The number is too large (at most %(max)s).") % {"max": MAX_INT}
    elif isinstance(value, (dt.date, dt.datetime)):
        if not MIN_YEAR <= value.year <= MAX_YEAR:
            return _("Send a date between the years %(min)s and %(max)s.") % {"min": MIN_YEAR, "max": MAX_YEAR}
    elif isinstance(value, str):
        return text_problem(value)
    return None


def printable(text: str) -> str:
    """`text` safe to echo in a JSON answer: a lone surrogate written as its escape (\\ud800)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _join(path: str, key) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def json_problems(data: Any, *, max_items: int | None = MAX_ITEMS) -> dict[str, list[str]]:
    """Every value of a parsed JSON document that cannot be stored, by its path (tags[3], rules.all[0].value).
    `max_items` bounds each list and mapping (None: unbounded, for documents another system wrote)."""
    problems: dict[str, list[str]] = {}
    stack = [("", data)]
    while stack:
        where, value = stack.pop()
        if max_items is not None and isinstance(value, (list, dict)) and len(value) > max_items:
            problems.setdefault(where or "__all__", []).append(
                _("At most %(max)s items in one request.") % {"max": max_items})
            continue
        if isinstance(value, dict):
            for key, item in value.items():
                if problem := text_problem(str(key)):
                    problems.setdefault(_join(where, printable(key)), []).append(problem)
                else:
                    stack.append((_join(where, key), item))
        elif isinstance(value, list):
            stack.extend((_join(where, index), item) for index, item in enumerate(value))
        elif problem := value_problem(value):
            problems.setdefault(where or "__all__", []).append(problem)
    return dict(sorted(problems.items()))


class GuanxiParser(Parser):
    """ninja's parser, refusing what json_problems finds in bodies and text_problem in query and form values."""

    def parse_body(self, request):
        data = super().parse_body(request)
        if problems := json_problems(data):
            # ninja turns any parser error into a 400; guanxi.api.errors answers its cause, this, with 422.
            raise Unprocessable(problems)
        return data

    def parse_querydict(self, data, list_fields, request):
        # Uploaded files arrive here too (multipart); only text values are checked.
        problems = {key: [problem] for key in data for value in data.getlist(key)
                    if (problem := text_problem(key) or (isinstance(value, str) and text_problem(value)))}
        if problems:
            raise Unprocessable(problems)
        return super().parse_querydict(data, list_fields, request)


class BoundedSchema(Schema):
    """Base of every input and query schema: each field's parsed value must fit a column (see value_problem)."""

    @field_validator("*", mode="after")
    @classmethod
    def _fits_a_column(cls, value):
        if problem := value_problem(value):
            raise PydanticCustomError(ERROR_TYPE, problem)
        return value
