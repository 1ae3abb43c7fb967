"""The playground page in a real headless Chromium against a real `edgembed serve` process:
enter the API key, type a question, search, mark a passage, and find the row in SQLite."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import time
from pathlib import Path

import pytest

from tests.server.browser import chromium_page, find_chromium
from tests.server.conftest import real_export  # noqa: F401  (the session export fixture)
from tests.server.live import live_server

pytestmark = pytest.mark.slow

KEY = "playground-key"
QUESTION = "How many vacation days do I get?"
PASSAGES = [
    "Vacation > Allowance\nFull-time employees accrue 25 vacation days a year.",
    "Expenses > Receipts\nKeep receipts for any expense over 25 euros and file them in a month.",
    "Laptops > Replacement\nLaptops are replaced every four years, or sooner when broken.",
    "Travel > Booking\nBook flights through the travel desk at least two weeks ahead.",
    "Security > Passwords\nPasswords are at least 14 characters and never reused.",
    "Remote work > Equipment\nRemote staff may claim a monitor and a chair once.",
]


@pytest.fixture()
def chromium() -> str:
    found = find_chromium()
    if found is None:
        pytest.skip(
            "Chromium is not installed (scripts/test.sh installs Debian's `chromium` package "
            "when run as root; or: apt-get install chromium)"
        )
    return found


def _write_corpus(path: Path) -> Path:
    rows = [
        {
            "id": f"chunk-{index}",
            "doc": f"policy-{index}.md",
            "title": text.split(" > ")[0],
            "section": text.split(" > ")[1].split("\n")[0],
            "text": text,
            "words": len(text.split()),
            "position": 0,
        }
        for index, text in enumerate(PASSAGES)
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def _second_version(export: Path, out: Path) -> Path:
    """A copy of `export` whose manifest says it is version 2 (as `improve` would write it)."""
    shutil.copytree(export, out)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["version"] = 2
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out


def test_search_and_mark_in_a_browser(
    chromium: str,
    real_export: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    db, log = tmp_path / "feedback.db", tmp_path / "queries.jsonl"
    corpus = _write_corpus(tmp_path / "chunks.jsonl")
    version_2 = _second_version(real_export, tmp_path / "exports" / "tiny-golden-v2")
    args = ["--corpus", str(corpus), "--compare", str(real_export), "--version", str(version_2)]
    args += ["--feedback-db", str(db), "--log-queries", str(log)]
    with (
        live_server(real_export, *args, env={"EDGEMBED_API_KEY": KEY}) as server,
        chromium_page(chromium) as page,
    ):
        page.open(server.url + "/")
        # Without the key the page says so and opens the key box.
        page.wait_for("document.getElementById('key-box').open")
        page.type("#api-key", KEY)
        page.click("#key-form button")
        page.wait_for("document.getElementById('status').textContent.includes('6 passages')")

        page.type("#query", QUESTION)
        page.click("#search")
        page.wait_for("document.querySelectorAll('.column').length === 2")
        columns = page.evaluate(
            "[...document.querySelectorAll('.column')].map((c) => "
            "[c.dataset.model, c.querySelectorAll('.hit').length])"
        )
        assert [count for _model, count in columns] == [5, 5]
        # Each passage says where the other model ranked it (the same export: the same place).
        places = page.evaluate(
            "[...document.querySelectorAll('.column:last-child .elsewhere')]"
            ".map((e) => e.textContent)"
        )
        assert places == [f"tiny-golden@v1: #{rank}" for rank in range(1, 6)]
        timing = page.evaluate("document.getElementById('timing').textContent")
        assert timing.startswith("Answered in ")

        first = page.evaluate("document.querySelector('.column .hit').dataset.chunkId")
        page.click(".column .hit .mark-yes")
        saved = page.wait_for("document.querySelector('.column .hit .saved').textContent")
        assert saved == "Saved #1"
        laptop = page.screenshot(tmp_path / "playground-laptop.png", 1280, 800)
        phone = page.screenshot(tmp_path / "playground-phone.png", 390, 844, mobile=True)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert laptop.stat().st_size > 10_000 and phone.stat().st_size > 10_000

        # A second question replaces the results; the page shows how long it took.
        page.evaluate("document.getElementById('query').value = ''")
        page.evaluate("document.querySelector('.column').dataset.stale = 'yes'")
        page.type("#query", "Where do I book a flight?")
        page.click("#search")
        page.wait_for("!document.querySelector('.column[data-stale]')")
        assert page.evaluate("document.querySelectorAll('.column .hit').length") == 10
        print(page.evaluate("document.getElementById('timing').textContent"))
        stages = page.evaluate("document.querySelector('.column .stages').textContent")
        # Each stage with its time; hybrid (on by default) names BM25's share.
        assert re.fullmatch(r"dense [\d.]+ ms → hybrid [\d.]+ ms \(BM25 weight 0\.3\)", stages)

        # The loop: the unmarked logged question is offered to mark; v2 becomes the default.
        page.click("#to-mark summary")
        page.click("#to-mark-refresh")
        offered = "[...document.querySelectorAll('#to-mark-list .ask')].map((a) => a.textContent)"
        page.wait_for(f"{offered}.length === 1")
        assert page.evaluate(offered) == ["Where do I book a flight?"]
        page.click("#versions summary")
        page.click("#versions .make-default")
        page.wait_for("document.getElementById('versions-default').textContent.includes('v2')")
        # v2's passages may still be embedding on a busy box (the search answers "retry"), and
        # the list re-renders once after the switch: ask again until v2 answers, on a deadline.
        on_v2 = "document.querySelector('.column h2')?.textContent.startsWith('tiny-golden@v2')"
        deadline = time.monotonic() + 30
        while True:
            page.click("#to-mark-list .ask")
            try:
                page.wait_for(on_v2, timeout=3)
                break
            except AssertionError:
                results = page.evaluate("document.getElementById('results').textContent")
                if time.monotonic() > deadline:
                    raise AssertionError(f"v2 never answered; the page shows: {results}") from None
        page.screenshot(tmp_path / "playground-loop.png", 1280, 900)

        assert server.stop()

    with sqlite3.connect(db) as stored:
        rows = stored.execute("SELECT query, chunk_id, relevant, model FROM feedback").fetchall()
    assert rows == [(QUESTION, first, 1, columns[0][0])]
    logged = [json.loads(line)["text"] for line in log.read_text().splitlines()]
    assert logged == [QUESTION, "Where do I book a flight?", "Where do I book a flight?"]


def test_the_api_docs_page_renders_offline(
    chromium: str,
    real_export: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    """/docs shows every route from the schema with nothing but the server's own files."""
    with live_server(real_export) as server, chromium_page(chromium) as page:
        page.open(f"{server.url}/docs")
        page.wait_for("document.querySelectorAll('#operations details').length >= 6")
        routes = page.evaluate(
            "[...document.querySelectorAll('#operations summary')].map(s => s.textContent)"
        )
        bodies = page.evaluate("document.querySelectorAll('#schemas details').length")
        shot = page.screenshot(tmp_path / "docs.png", 1280, 800)
    assert any("POST/v1/embeddings" in route for route in routes), routes
    assert bodies >= 5 and shot.stat().st_size > 0
