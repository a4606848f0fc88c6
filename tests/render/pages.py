"""Reading the HTML reports in tests: the tags, attributes and text of a page."""

from __future__ import annotations

import base64
from html.parser import HTMLParser


class Page(HTMLParser):
    """Every start tag, every attribute and every piece of text of a page, in order."""

    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += attrs

    def handle_data(self, data):
        self.text.append(data)


def parse(text: str) -> Page:
    """The page ``text`` read."""
    page = Page()
    page.feed(text)
    page.close()
    return page


def assert_self_contained(text: str, page: Page) -> None:
    """Nothing loaded from elsewhere: no scripts, links or frames; images are PNG data URIs."""
    assert "http://" not in text and "https://" not in text
    assert not {"script", "link", "iframe", "object"} & set(page.tags)
    for name, value in page.attrs:
        if name in ("src", "href"):
            assert value.startswith("data:image/png;base64,"), value[:40]
            assert base64.b64decode(value.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
