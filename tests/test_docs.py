"""The docs stay true: every ```python block runs, every picture exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lrsched.schedules import base as schedules_base
from lrsched.snapshot import rng_state, set_rng_state

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHIPPED = ("data", "benchmarks")  # what the pages read, by paths from the repository root
# ![alt](path "title") in markdown, or <img src="path"> in HTML.
IMAGE = re.compile(r'!\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)'
                   r'|<img\s[^>]*src="([^"]+)"')


def python_blocks(page: Path) -> list[tuple[int, str]]:
    """(first line number, code) of each ```python block, in order."""
    blocks, start, body = [], None, []
    for number, line in enumerate(page.read_text().splitlines(), 1):
        if start is None and line.strip() == "```python":
            start, body = number + 1, []
        elif start is not None and line.strip() == "```":
            blocks.append((start, "\n".join(body) + "\n"))
            start = None
        elif start is not None:
            body.append(line)
    assert start is None, f"{page.name}: ```python block from line {start} is never closed"
    return blocks


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_python_examples_run(page, tmp_path, monkeypatch):
    """The page's blocks in order, in one fresh namespace, in this process, from a
    temporary folder that sees the shipped files where the repository root has them
    (so a page writes nothing into the repository). Each block is compiled with the
    page's own line numbers, so a traceback points at the failing line of the .md file;
    the random generators, and the schedule families (the schedules page adds one), are
    put back afterwards."""
    blocks = python_blocks(page)
    assert blocks, f"{page.name} has no runnable example; every page shows one"
    for name in SHIPPED:
        (tmp_path / name).symlink_to(ROOT / name)
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__main__"}
    rng = rng_state()
    monkeypatch.setattr(schedules_base, "_REGISTRY", dict(schedules_base._REGISTRY))
    try:
        for line, code in blocks:
            exec(compile("\n" * (line - 1) + code, str(page), "exec"), namespace)
    finally:
        set_rng_state(rng)


def test_referenced_images_exist():
    missing = []
    for doc in PAGES:
        for match in IMAGE.finditer(doc.read_text()):
            target = match.group(1) or match.group(2)
            if re.match(r"[a-z]+://", target):
                continue
            if not (doc.parent / target.split("#")[0]).is_file():
                missing.append(f"{doc.relative_to(ROOT)}: {target}")
    assert not missing, "missing images:\n" + "\n".join(missing)


def test_every_docs_page_is_linked_from_the_readme():
    readme = (ROOT / "README.md").read_text()
    unlinked = [p.name for p in PAGES[1:] if f"(docs/{p.name})" not in readme]
    assert not unlinked, f"README.md does not link: {', '.join(unlinked)}"


def test_every_install_hint_names_the_distribution_not_the_other_project():
    """``lrsched`` on PyPI is somebody else's project: the README says so in its first
    lines, and no page or message tells a user to install ``lrsched`` by that name."""
    assert "`lrsched-toolkit`" in "\n".join(PAGES[0].read_text().splitlines()[:8])
    wrong = re.compile(r"pip install\s+(?:-\S+\s+)*['\"]?lrsched(?![\w-])")
    files = [*PAGES, *(ROOT / "lrsched").rglob("*.py")]
    found = [f"{p.relative_to(ROOT)}: {m.group(0)}"
             for p in files for m in wrong.finditer(p.read_text())]
    assert not found, "\n".join(found)
    assert wrong.search("pip install 'lrsched[harness]'")  # the pattern finds the wrong name
