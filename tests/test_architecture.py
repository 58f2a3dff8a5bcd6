"""The layout's rules, checked on the source: dependencies point one way (ui -> evals -> qa
-> index), and nothing shipped imports the tests or the benchmarks."""

from __future__ import annotations

import ast

import pytest

from tests.conftest import REPO

# What each top-level package may import from the others.
ALLOWED = {
    "index": set(),
    "qa": {"index"},
    "evals": {"qa", "index"},
    "ui": {"qa", "evals", "index"},
    "training": {"qa", "evals", "index"},  # trains the reader, measures it as the eval does
    # servers, documents and a browser that tests and benchmarks share
    "support": {"qa", "index", "evals", "ui"},
    # measures candidates too, with the calibration's own readings (never torch)
    "bench": {"qa", "index", "evals", "support", "ui", "training"},
    "tests": {"qa", "index", "evals", "ui", "training", "support"},
}
OURS = set(ALLOWED)


def imported_packages(package: str) -> dict[str, set[str]]:
    """Each of our top-level packages that `package` imports, with the files that do."""
    found: dict[str, set[str]] = {}
    for path in sorted((REPO / package).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top in OURS and top != package:
                    found.setdefault(top, set()).add(str(path.relative_to(REPO)))
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_the_layers_below_it(package: str) -> None:
    wrong = {k: v for k, v in imported_packages(package).items() if k not in ALLOWED[package]}
    assert not wrong, f"{package} must not import {wrong}"


def test_the_allowed_imports_have_no_cycle() -> None:
    def reaches(start: str, goal: str, seen: frozenset[str] = frozenset()) -> bool:
        return any(
            nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt}))
            for nxt in ALLOWED[start]
        )

    assert not [p for p in ALLOWED if reaches(p, p)]


def test_every_link_in_the_readme_and_docs_resolves_inside_the_repository() -> None:
    import re

    pages = [REPO / "README.md", REPO / "CHANGELOG.md", *sorted((REPO / "docs").glob("*.md"))]
    broken = []
    for page in pages:
        prose = re.sub(r"`[^`]*`", "", page.read_text(encoding="utf-8"))  # code is not a link
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", prose):
            if re.match(r"[a-z]+://", target):
                broken.append((page.name, target, "points outside the repository"))
            elif not (page.parent / target).resolve().is_relative_to(REPO):
                broken.append((page.name, target, "outside the repository"))
            elif not (page.parent / target).exists():
                broken.append((page.name, target, "missing"))
    assert not broken
