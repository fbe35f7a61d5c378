"""What every tool shares: its result, its two kinds of error, its context, and the registry.

A tool is a typed function: a pydantic model of arguments (choices are ``Literal``, every field
described, because the model reads these), a docstring the model reads, and a ``ToolResult``:

- ``summary``: short, PII-free text the model may read (counts, shares, thresholds, top items);
- artifacts the person sees and the model never does: ``table``, ``chart``, ``persona``, ``draft``,
  ``downloads``.

Errors come in two kinds (as in pydantic-ai): ``ToolArgsError`` the model can fix, naming the valid
choices; ``ToolFailure``, one plain sentence for the owner, for everything else.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from segmentation.store import connect_sandboxed, default_db_path


@dataclass
class Download:
    file_name: str
    data: bytes
    mime: str = "text/csv"


@dataclass
class ToolResult:
    summary: str
    table: Any = None  # pandas DataFrame, for the person (may hold names and emails)
    chart: Any = None  # Altair chart
    persona: dict | None = None
    draft: dict | None = None
    downloads: list[Download] = field(default_factory=list)
    facts: dict = field(default_factory=dict)  # PII-free numbers the offline agent's templates use

    def artifacts(self) -> dict:
        """Everything but the summary: what the UI shows and the model never sees."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "summary"}


class ToolArgs(BaseModel):
    """Base of every tool's arguments: an argument the tool does not have is an error the model sees."""

    model_config = ConfigDict(extra="forbid")


class ToolArgsError(ValueError):
    """Arguments a model can correct: the message names the valid choices."""


class ToolFailure(Exception):
    """Anything else: one plain sentence for the owner."""


@dataclass
class ToolContext:
    """What tools need from the session: the shop database and the files the person uploaded."""

    db_path: Path = field(default_factory=default_db_path)
    uploads: dict[str, Path] = field(default_factory=dict)
    shop_name: str = "our shop"
    artifacts: bool = True  # False where nobody will see charts or files (the command line's `ask`)

    def read(self):
        """``with ctx.read() as con:`` a sandboxed, read-only connection, closed when the block ends."""
        return connect_sandboxed(self.db_path)


def draw(ctx: ToolContext, builder: str, *args: Any) -> Any:
    """A chart from ``tools.charts`` for the person, or None where nobody will see it (Altair not loaded)."""
    if not ctx.artifacts:
        return None
    from tools import charts

    return getattr(charts, builder)(*args)


def csv_download(ctx: ToolContext, file_name: str, frame: Any) -> list[Download]:
    """The frame as a formula-safe CSV download, or nothing where nobody will download it."""
    if not ctx.artifacts:
        return []
    from tools.export import safe_csv

    return [Download(file_name, safe_csv(frame))]


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    args_model: type[BaseModel]
    fn: Callable[[ToolContext, BaseModel], ToolResult]


REGISTRY: dict[str, ToolSpec] = {}


def tool(name: str, args_model: type[BaseModel]):
    """Register ``fn(ctx, args) -> ToolResult`` under ``name``; its docstring is what the model reads."""

    def register(fn: Callable[[ToolContext, Any], ToolResult]):
        REGISTRY[name] = ToolSpec(name, (fn.__doc__ or "").strip(), args_model, fn)
        return fn

    return register


def run_tool(name: str, raw_args: dict | None, ctx: ToolContext) -> ToolResult:
    """Validate and run one tool. Raises ToolArgsError (correctable) or ToolFailure (plain sentence)."""
    from segmentation.readers import IngestError
    from segmentation.rfm import AnalysisError
    from segmentation.store import StoreError

    spec = REGISTRY.get(name)
    if spec is None:
        raise ToolArgsError(f"There is no tool '{name}'; the tools are: {', '.join(sorted(REGISTRY))}.")
    try:
        args = spec.args_model.model_validate(raw_args or {})
    except ValidationError as exc:
        raise ToolArgsError(explain_validation(name, exc)) from exc
    try:
        return spec.fn(ctx, args)
    except (AnalysisError, IngestError, StoreError) as exc:
        raise ToolFailure(str(exc)) from exc


def explain_validation(name: str, exc: ValidationError) -> str:
    """One line per bad field, with the choices a Literal allows, so a model can correct itself."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "arguments"
        expected = error.get("ctx", {}).get("expected")
        if expected:
            parts.append(f"{where} must be one of {expected}")
        else:
            parts.append(f"{where}: {error['msg'].lower()}")
    return f"{name}: " + "; ".join(parts) + "."


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")


def assert_no_email(text: str) -> str:
    """A last guard on summaries: a summary holding an email address is a bug, never sent on."""
    if _EMAIL.search(text):
        raise ToolFailure("A result contained personal data and was withheld; please report this.")
    return text
