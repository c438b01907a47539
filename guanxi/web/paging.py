"""Pagination without COUNT(*): one query fetches a page plus one row to know whether a next page exists.

A workspace may hold a million customers; counting them on every list view costs more than the page itself.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Page:
    items: list
    number: int
    has_next: bool
    per_page: int
    total: int | None = None  # known only when the caller already has it (search results)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def next_number(self) -> int:
        return self.number + 1

    @property
    def previous_number(self) -> int:
        return self.number - 1

    @property
    def start_index(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.items else 0

    @property
    def end_index(self) -> int:
        return (self.number - 1) * self.per_page + len(self.items)


def page_number(request, name: str = "page") -> int:
    try:
        return max(1, min(int(request.GET.get(name, 1)), 10_000))
    except (TypeError, ValueError):
        return 1


def paginate(queryset, request, *, per_page: int = 50, total: int | None = None) -> Page:
    number = page_number(request)
    offset = (number - 1) * per_page
    rows = list(queryset[offset : offset + per_page + 1])
    return Page(items=rows[:per_page], number=number, has_next=len(rows) > per_page, per_page=per_page, total=total)
