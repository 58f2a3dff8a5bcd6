"""Saved web pages: the readable text, one block (heading, paragraph, list item, table row)
a line, without scripts, styles or the page's navigation clutter.

selectolax (the Lexbor engine) parses; chosen by measurement (`bench/bench_html.py`): on a
page of 20,000 paragraphs it took 0.05 s, BeautifulSoup 0.95 s (lxml) to 1.7 s, trafilatura
2.3 s; a 20 MB page of script, 0.09 s. The walk that turns elements into lines is
written here because no parser knows which elements a reader sees as separate blocks.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

from index.formats.base import DEFAULT_LIMITS, Extracted, Limits, decode_text, expect

# Never text a reader reads on the page.
DROPPED = (
    "script", "style", "noscript", "template", "svg", "canvas", "iframe", "object", "nav",
    "aside", "form", "button", "select", "dialog",
)  # fmt: skip
# A page's own header and footer are clutter; an article's (its title, its byline) are not.
FURNITURE_UNLESS_IN_ARTICLE = ("header", "footer")
# Elements that start a new line.
BLOCKS = frozenset((
    "p", "div", "section", "article", "main", "h1", "h2", "h3", "h4", "h5", "h6", "li", "dt",
    "dd", "blockquote", "pre", "figcaption", "caption", "address", "table", "thead", "tbody",
    "tfoot", "tr", "ul", "ol", "dl", "hr", "br", "title", "details", "summary",
))  # fmt: skip
CELLS = frozenset({"td", "th"})
_SPACE = re.compile(r"\s+")


def load(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Extracted:
    expect(data, "text", "an HTML file")
    text, encoding = decode_text(data)
    tree = LexborHTMLParser(text)
    for node in tree.css(", ".join(DROPPED)):
        node.decompose()
    for node in tree.css(", ".join(FURNITURE_UNLESS_IN_ARTICLE)):
        if not _inside(node, ("article", "main")):
            node.decompose()
    # role="navigation" and hidden elements are clutter too, whatever their tag.
    for node in tree.css('[role="navigation"], [hidden], [aria-hidden="true"]'):
        node.decompose()
    lines: list[str] = []
    title = tree.css_first("head > title")
    if title is not None and title.text(strip=True):
        lines.append(_SPACE.sub(" ", title.text(strip=True)))
    root = tree.body
    if root is not None:
        lines.extend(_blocks(root))
    return Extracted(lines=lines, encoding=encoding)


def _inside(node: LexborNode, tags: tuple[str, ...]) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.tag in tags:
            return True
        parent = parent.parent
    return False


def _blocks(root: LexborNode) -> list[str]:
    """The text of each block, in document order. Iterative: a hostile page may nest
    elements deeper than Python's recursion limit."""
    lines: list[str] = []
    current: list[str] = []

    def flush() -> None:
        line = _SPACE.sub(" ", "".join(current)).strip()
        if line:
            lines.append(line)
        current.clear()

    # (node, entering): a block flushes the line before its content and after it.
    stack: list[tuple[LexborNode, bool]] = [(root, True)]
    while stack:
        node, entering = stack.pop()
        if node.is_text_node:
            current.append(node.text_content or "")
            continue
        tag = node.tag or ""
        if not entering:
            if tag in BLOCKS:
                flush()
            elif tag in CELLS:
                current.append(" | ")
            continue
        if tag in BLOCKS:
            flush()
        stack.append((node, False))
        children = []
        child = node.child
        while child is not None:
            children.append(child)
            child = child.next
        stack.extend((c, True) for c in reversed(children))
    flush()
    return [line.strip(" |") for line in lines if line.strip(" |")]
