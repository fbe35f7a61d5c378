"""The house as a newcomer reads it: the README's layout names every folder and module there is, and imports point
down (front doors -> agent -> tools -> segmentation), read from the code itself."""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _layout_block() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    return section.split("```", 2)[1]


def _tracked(pattern: str) -> list[Path]:
    out = subprocess.run(["git", "ls-files", pattern], cwd=REPO, capture_output=True, text=True, check=True)
    return [Path(line) for line in out.stdout.splitlines()]


def _segmentation_block() -> str:
    block = _layout_block()
    return block.split("\nsegmentation/", 1)[1].split("\ndocs/", 1)[0]


def test_the_layout_names_every_top_level_folder_and_front_door():
    block = _layout_block()
    listed = set(re.findall(r"^([a-z_]+(?:/|\.py))\s", block, re.M))
    tracked = {p.parts[0] + "/" for p in _tracked("*") if len(p.parts) > 1 and not p.parts[0].startswith(".")}
    tracked |= {p.name for p in _tracked("*.py") if len(p.parts) == 1}
    assert tracked - listed == set(), "folders or front doors missing from README's Layout"
    # data/ is made by `segments demo` and kept out of git; anything else listed must be in the repository.
    assert listed - tracked == {"data/"}, "README's Layout names what is not there"


def test_the_layout_names_every_analytics_module_and_sub_package():
    block = _segmentation_block()
    packages = sorted(p.name for p in (REPO / "segmentation").iterdir() if (p / "__init__.py").exists())
    assert packages, "segmentation has sub-packages"
    for package in packages:
        line = re.search(rf"^  {package}/\s+(.+?)(?=^  \S|\Z)", block, re.M | re.S)
        assert line, f"segmentation/{package}/ is not in README's Layout"
        modules = {p.stem for p in (REPO / "segmentation" / package).glob("*.py") if p.stem != "__init__"}
        named = set(re.findall(r"[a-z_]+", line.group(1)))
        assert modules - named == set(), f"segmentation/{package}/ modules missing from README's Layout"
    top = {p.stem for p in (REPO / "segmentation").glob("*.py") if p.stem != "__init__"}
    named_top = set(re.findall(r"([a-z_]+)\.py", block))
    assert top - named_top == set(), "segmentation modules missing from README's Layout"
    assert named_top - top == set(), "README's Layout names segmentation modules that are not there"


def test_each_sub_package_lists_its_modules_in_all():
    for init in (REPO / "segmentation").glob("*/__init__.py"):
        namespace: dict = {}
        exec(compile(init.read_text(encoding="utf-8"), str(init), "exec"), namespace)
        modules = sorted(p.stem for p in init.parent.glob("*.py") if p.stem != "__init__")
        assert sorted(namespace["__all__"]) == modules, init
        assert all(f"``{m}``" in namespace["__doc__"] for m in modules), f"{init}: its docstring names every module"


# Which layer each top-level name belongs to, bottom first; a module may import its own layer and those below.
LAYERS = {"segmentation": 0, "tools": 1, "agent": 2, "ui": 3, "app": 3, "serve": 3, "cli": 3}


def _layer_of(path: Path) -> str:
    return path.relative_to(REPO).parts[0].removesuffix(".py")


def _imported_roots(tree: ast.AST) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots & set(LAYERS)


SOURCES = [p for p in _tracked("*.py") if p.parts[0] in {"segmentation", "tools", "agent", "ui"} or len(p.parts) == 1]


@pytest.mark.parametrize("path", SOURCES, ids=str)
def test_imports_point_down(path):
    """Nothing imports a layer above its own, also lazily inside a function: the analytics run without tools,
    the tools without an agent, the agent without a page."""
    source = REPO / path
    layer = LAYERS[_layer_of(source)]
    above = {root for root in _imported_roots(ast.parse(source.read_text(encoding="utf-8"))) if LAYERS[root] > layer}
    assert above == set(), f"{path} imports {sorted(above)}, a layer above it"


def test_the_layer_check_sees_a_lazy_import_above():
    """The check above would catch an import inside a function body (what a lazy import looks like here)."""
    tree = ast.parse("def f():\n    from agent.offline import OfflineAgent\n    import ui.chat\n")
    assert _imported_roots(tree) == {"agent", "ui"}
