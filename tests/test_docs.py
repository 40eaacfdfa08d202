"""The docs stay true: every ```python block runs, every picture exists."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# ![alt](path "title") in markdown, or <img src="path"> in HTML.
IMAGE = re.compile(r'!\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)'
                   r'|<img\s[^>]*src="([^"]+)"')

# Runs in a fresh interpreter: each block is compiled with the page's own line numbers,
# so a traceback points at the failing line of the .md file.
RUNNER = """
import json, sys
namespace = {"__name__": "__main__"}
for path, line, code in json.load(sys.stdin):
    exec(compile("\\n" * (line - 1) + code, path, "exec"), namespace)
"""


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
def test_python_examples_run(page):
    blocks = python_blocks(page)
    assert blocks, f"{page.name} has no runnable example; every page shows one"
    rel = str(page.relative_to(ROOT))
    env = {**os.environ, "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [sys.executable, "-c", RUNNER], input=json.dumps([(rel, n, c) for n, c in blocks]),
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, f"{rel} examples failed:\n{result.stderr[-4000:]}"


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
