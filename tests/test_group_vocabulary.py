"""The 14 groups are named in one table (segmentation.vocabulary.GROUPS): every screen, answer, chart and persona
reads its title, words, meaning, goal, rank and colour from there, and no other module keeps its own copy."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import pytest

from segmentation.outreach.persona import GOAL_BY_KEY, STAGE_PHRASES, segment_label
from segmentation.vocabulary import GROUPS, SEGMENT_KEYS, STAGES, group_title
from tools import charts, wording

REPO = Path(__file__).resolve().parents[1]
KEYS = set(SEGMENT_KEYS) | set(STAGES)
# Tables keyed by the groups that are a module's own judgement, not a name: what a persona advises each group
# and calls them (prose written per group, with per-goal fallbacks for clusters), and how urgent a segment is
# when choosing which to act on first (the focus score's weights).
OWN_JUDGEMENT = {("segmentation/outreach/persona.py", "ACTIONS"), ("segmentation/outreach/persona.py", "ROLES")}
OWN_JUDGEMENT |= {("segmentation/focus.py", "URGENCY")}


def _group_keyed_tables(path: Path) -> list[str]:
    """Names of module-level dict literals in ``path`` keyed by four or more of the groups."""
    found = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        target, value = None, None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        if isinstance(target, ast.Name) and isinstance(value, ast.Dict):
            keys = {k.value for k in value.keys if isinstance(k, ast.Constant)}
            if len(keys & KEYS) >= 4:
                found.append(target.id)
    return found


def _product_sources() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "*.py"], cwd=REPO, capture_output=True, text=True, check=True)
    return [Path(p) for p in out.stdout.split() if p.split("/")[0] in {"segmentation", "tools", "agent", "ui"}]


def test_no_module_but_the_vocabulary_keeps_a_table_of_the_groups():
    copies = [
        (str(path), name)
        for path in _product_sources()
        if path != Path("segmentation/vocabulary.py")
        for name in _group_keyed_tables(REPO / path)
        if (str(path), name) not in OWN_JUDGEMENT
    ]
    assert copies == []


def test_the_check_finds_a_copy():
    """A module that spelt the groups' colours out again would be found."""
    source = "COLOURS = {'champions': '#000', 'loyal': '#111', 'at_risk': '#222', 'lapsed': '#333'}\n"
    path = REPO / "tests" / "__copy_probe.py"
    try:
        path.write_text(source, encoding="utf-8")
        assert _group_keyed_tables(path) == ["COLOURS"]
    finally:
        path.unlink()


def test_every_group_has_every_name_and_a_place():
    assert list(GROUPS) == [*SEGMENT_KEYS, *STAGES]
    for scheme in (SEGMENT_KEYS, STAGES):
        assert sorted(GROUPS[k].rank for k in scheme) == list(range(len(scheme)))
        assert len({GROUPS[k].title for k in scheme}) == len(scheme)
    for group in GROUPS.values():
        assert all(isinstance(v, str) and v.strip() for v in group[:7]), group.key
        assert group.colour.startswith("#") and len(group.colour) == 7


@pytest.mark.parametrize("key", sorted(KEYS))
def test_every_surface_names_a_group_as_the_table_does(key):
    """The chart legend, the persona card, the answer's words, the compound label, the rule's meaning and the
    persona's goal: each surface shows the table's entry (a change to the table shows everywhere)."""
    group = GROUPS[key]
    assert charts.label(key) == group_title(key) == segment_label(key, {}) == group.title
    assert wording.group_words(key) == group.words
    assert wording.label(key) == group.label
    assert GOAL_BY_KEY[key] == group.goal
    assert STAGE_PHRASES[key] == group.portrait
    colours = charts.SEGMENT_COLOURS if key in SEGMENT_KEYS else charts.STAGE_COLOURS
    assert colours[key] == group.colour
    if key in SEGMENT_KEYS:
        assert wording.segment_rule(key).endswith(f": {group.meaning}")


def test_the_names_read_as_before():
    """The words owners have seen do not change with the table: a few by hand."""
    assert GROUPS["cannot_lose_them"].title == "Can't lose them"
    assert wording.group_words("cannot_lose_them") == "customers you can't lose"
    assert wording.label("cannot_lose_them") == "can't-lose-them"
    assert wording.label("need_attention") == "need-attention"
    assert wording.label("cluster_2") == "cluster 2"
    assert charts.label("cluster_3") == "Cluster 3"
    assert charts.label("control") == "Held back"
    assert wording.segment_rule("at_risk") == (
        "recency score 1-2 and frequency score 3-4 of 5: used to buy often but have not for some time"
    )
