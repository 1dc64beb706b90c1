"""Every relative link in README.md and docs/*.md names a file of the
checkout and, with a #fragment, a heading of that file (GitHub's anchors)."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(page):
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    heads = re.findall(r"^#{1,6} (.+)$", text, flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in heads}


def test_anchor_rule_matches_github():
    assert anchors(ROOT / "docs" / "training.md") >= {"real-photo-weights---degradation-real",
                                                      "trainpy-reference"}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_resolve(page):
    bad = []
    for target in LINK.findall(page.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto: not checked offline
        path, _, frag = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            bad.append(f"{target}: no such file")
        elif frag and dest.suffix == ".md" and frag not in anchors(dest):
            bad.append(f"{target}: no heading #{frag}")
    assert not bad, f"{page.name}: " + "; ".join(bad)


def section(page, tag):
    """What stands between a page's ``<!-- tag:start -->`` and ``<!-- tag:end -->``."""
    text = page.read_text(encoding="utf-8")
    return text.split(f"<!-- {tag}:start -->\n", 1)[1].split(f"\n<!-- {tag}:end -->", 1)[0]


def test_the_tables_written_from_the_model_cards_are_current():
    """The weights table (docs/training.md) and the README's "Which model" table
    are what `network.py --weights/--choice` writes from today's cards: a card
    changed without rewriting them fails here."""
    from srkit.summary import choice_table, weights_table

    assert section(ROOT / "docs" / "training.md", "weights") == weights_table(ROOT / "weights")
    ev = ROOT / "evaluation"
    assert section(ROOT / "README.md", "choice") == choice_table(
        ROOT / "weights", [ev / "results.json", ev / "degrade.json"], ev / "bench_int8.json")
