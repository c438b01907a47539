"""A shop owner reads "still buying (probability)", not the model's "P(alive)", on the segment page, in the rule
builder and in the segment export, in English and in Chinese."""

import json
import re

import pytest
from django.urls import reverse

from guanxi.segments.models import Segment
from test_segments_web import ZJ, _fast_passwords, shop  # noqa: F401
from web_helpers import client_for

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("language", "plain", "jargon"), [
    ("en", "Still buying (probability)", "P(alive)"), ("zh-CN", "仍在购买的概率", "存活概率")])
def test_the_segment_pages_and_export_say_still_buying(shop, owner, language, plain, jargon):  # noqa: F811
    client = client_for(owner)
    champions = Segment.objects.get(builtin_key="rfm.champions")
    pages = [client.get(reverse("segments:detail", args=[champions.pk]), HTTP_ACCEPT_LANGUAGE=language),
             client.get(reverse("segments:export", args=[shop.segment.pk, "csv"]), HTTP_ACCEPT_LANGUAGE=language)]
    for response in pages:
        assert response.status_code == 200
        text = b"".join(response.streaming_content) if response.streaming else response.content
        text = text.decode("utf-8-sig")
        assert plain in text and jargon not in text, response.request["PATH_INFO"]
    builder = client.get(reverse("segments:new"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    data = json.loads(re.search(r'<script id="builder-data" type="application/json">(.*?)</script>', builder, re.S)[1])
    labels = json.dumps(data["fields"], ensure_ascii=False)
    assert plain in labels and jargon not in labels
