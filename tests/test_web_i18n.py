"""The Chinese catalogue is complete and compiled, and Chinese pages carry no English UI text."""

import pathlib
import re
import shutil
import subprocess

import pytest
from django.urls import reverse

from guanxi.workspaces.models import Role
from web_helpers import build_shop, client_for

CATALOGUE = pathlib.Path(__file__).resolve().parent.parent / "guanxi" / "locale" / "zh_Hans" / "LC_MESSAGES"


def _entries(po_text: str):
    """(flags, msgid, [msgstr…]) for every entry after the header."""
    for block in po_text.split("\n\n")[1:]:
        flags = " ".join(line for line in block.splitlines() if line.startswith("#,"))
        msgid = re.search(r'^msgid ((?:".*"\n?)+)', block, re.M)
        msgstrs = re.findall(r'^msgstr(?:\[\d+\])? ((?:".*"\n?)+)', block, re.M)
        if msgid:
            yield flags, msgid.group(1), ["".join(re.findall(r'"(.*)"', s)) for s in msgstrs]


def test_every_message_has_a_chinese_translation():
    untranslated = [msgid for flags, msgid, msgstrs in _entries((CATALOGUE / "django.po").read_text("utf-8"))
                    if "fuzzy" in flags or not all(msgstrs)]
    assert untranslated == []


def test_the_committed_mo_file_is_compiled_from_the_po_file(tmp_path):
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        pytest.skip("msgfmt (gettext) is not installed")
    compiled = tmp_path / "django.mo"
    subprocess.run([msgfmt, "--check-format", "-o", str(compiled), str(CATALOGUE / "django.po")], check=True)
    assert compiled.read_bytes() == (CATALOGUE / "django.mo").read_bytes(), \
        "run `python manage.py compilemessages -l zh_Hans` and commit django.mo"


ENGLISH_UI = ["Customers", "Orders", "Follow-ups", "Settings", "Sign out", "Search", "Workspace", "Language",
              "History", "Total paid", "Add a follow-up", "Order number", "Members and roles", "Newest customers"]


@pytest.mark.django_db
def test_chinese_pages_show_no_english_interface_text(workspace, owner, make_member):
    shop = build_shop(workspace, owner=owner)
    pages = [reverse("web:home"), reverse("web:customer_list"), reverse("web:customer_list") + "?q=nobody",
             reverse("web:customer_detail", args=[shop.customer.id]), reverse("web:customer_new"),
             reverse("web:customer_edit", args=[shop.customer.id]), reverse("web:order_list"),
             reverse("web:order_detail", args=[shop.order.id]), reverse("web:task_list"), reverse("web:settings")]
    client = client_for(owner)
    for url in pages:
        html = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
        text = re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S))
        leftovers = [word for word in ENGLISH_UI if re.search(rf"\b{re.escape(word)}\b", text)]
        assert leftovers == [], url
    analyst = client_for(make_member(workspace, Role.ANALYST))
    assert "分析师（只读）" in analyst.get(reverse("web:home"), HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
