"""Why selectolax reads HTML here: the same two pages parsed, cleaned of scripts and
navigation, and cut into paragraphs by each candidate parser. Parsers that are not
installed are skipped (BeautifulSoup and trafilatura are not dependencies; install them
into a scratch venv to compare). Run: `python bench/bench_html.py`."""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable

SCRIPT = "var tracking = {id: 1, pixel: 'data:image/png;base64,AAAA'};\n" * 345_000
BODY = "".join(
    f"<p>Paragraph {i} of the saved page, with <b>some</b> words.</p>\n" for i in range(20000)
)
PAGES = {
    "20 MB, mostly script": f"<html><head><script>{SCRIPT}</script></head><p>One.</p></html>",
    "1.4 MB, 20,000 paragraphs": f"<html><body><nav>Home</nav>{BODY}</body></html>",
}


def selectolax(page: str) -> int:
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(page)
    for node in tree.css("script, style, nav"):
        node.decompose()
    return len([n.text() for n in tree.css("p")])


def beautifulsoup(parser: str) -> Callable[[str], int]:
    def parse(page: str) -> int:
        from bs4 import BeautifulSoup

        soup = BeautifulSoup(page, parser)
        for node in soup(["script", "style", "nav"]):
            node.decompose()
        return len([p.get_text() for p in soup.find_all("p")])

    return parse


def trafilatura(page: str) -> int:
    import trafilatura as t

    return (t.extract(page) or "").count("\n") + 1


CANDIDATES: list[tuple[str, str, Callable[[str], int]]] = [
    ("selectolax (Lexbor)", "selectolax", selectolax),
    ("BeautifulSoup + lxml", "bs4", beautifulsoup("lxml")),
    ("BeautifulSoup + html.parser", "bs4", beautifulsoup("html.parser")),
    ("trafilatura", "trafilatura", trafilatura),
]


def main() -> None:
    print("| page | parser | seconds | paragraphs |")
    print("|---|---|---:|---:|")
    for name, page in PAGES.items():
        for label, module, parse in CANDIDATES:
            if importlib.util.find_spec(module) is None:
                continue
            started = time.perf_counter()
            found = parse(page)
            print(f"| {name} | {label} | {time.perf_counter() - started:.2f} | {found:,} |")


if __name__ == "__main__":
    main()
