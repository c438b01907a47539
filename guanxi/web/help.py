"""Help pages rendered from the repository's Markdown docs, so the import page's "documented columns" link and
docs/imports.md can never disagree (one text, read at request time)."""

from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.http import Http404
from django.shortcuts import render
from django.utils.safestring import mark_safe
from markdown_it import MarkdownIt

from guanxi.web.decorators import member_required

DOCS_DIR = Path(settings.BASE_DIR).parent / "docs"
# Only these files are pages: the URL names a topic, never a path.
TOPICS = {"imports": "imports.md"}


@lru_cache(maxsize=8)
def _rendered(path: Path, mtime_ns: int) -> str:
    # Keyed on the modification time, so an edited doc shows without a restart. html=False: a doc cannot inject
    # markup into the page.
    return MarkdownIt("commonmark", {"html": False}).enable("table").render(path.read_text(encoding="utf-8"))


def doc_html(topic: str) -> str:
    """The doc `topic` as HTML; Http404 for an unknown topic or a checkout without its docs folder."""
    if topic not in TOPICS:
        raise Http404
    path = DOCS_DIR / TOPICS[topic]
    try:
        return _rendered(path, path.stat().st_mtime_ns)
    except FileNotFoundError:
        raise Http404 from None


@member_required()
def help_page(request, topic: str):
    return render(request, "web/help.html", {"doc": mark_safe(doc_html(topic)), "topic": topic})
