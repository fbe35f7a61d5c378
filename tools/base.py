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

from segmentation.currency import active, currency_of, using
from segmentation.store import connect_sandboxed, default_db_path


@dataclass
class Download:
    """A file for the person. ``data`` is its bytes, or a function of no arguments that makes them: a big
    list's CSV takes longer than the rest of an answer (0.35 s for 56,000 customers), and most are never
    downloaded, so it is made when someone asks for it (Streamlit's ``download_button`` calls it on the
    click). ``content()`` gives the bytes either way: use it wherever the bytes themselves are needed."""

    file_name: str
    data: bytes | Callable[[], bytes]
    mime: str = "text/csv"

    @property
    def lazy(self) -> bool:
        """True while the bytes are still to be made."""
        return callable(self.data)

    def content(self) -> bytes:
        """The file's bytes, made on the first call when ``data`` is a function, and kept."""
        if callable(self.data):
            self.data = self.data()
        return self.data


@dataclass(frozen=True)
class CsvOf:
    """``safe_csv(frame)`` when called: a download's deferred bytes. A class, not a closure, so a result that
    holds one can be pickled (the app caches tool results with ``st.cache_data``). The frame is a lazy copy
    (pandas' copy-on-write), so a caller changing theirs afterwards does not change the file."""

    frame: Any

    def __post_init__(self) -> None:
        object.__setattr__(self, "frame", self.frame.copy(deep=False))

    def __call__(self) -> bytes:
        from tools.export import safe_csv

        return safe_csv(self.frame)


class LazyChart:
    """A chart made when it is first used: ``tools.charts.<builder>(*args)``.

    Building an Altair chart takes 25-75 ms, as long as the rest of many answers; the app draws it after the
    answer's words are on the screen (``ui.render``), and where nobody looks at it, it is never made. Any
    attribute is the built chart's (``to_dict()``, ``properties(...)``); ``build()`` returns the chart itself,
    or None where the builder has nothing to draw. The arguments are lazy copies, as in ``CsvOf``, and are let
    go once the chart is made. Picklable (builder name and arguments), for ``st.cache_data``.
    """

    def __init__(self, builder: str, *args: Any) -> None:
        self.builder = builder
        self.args = tuple(_snapshot(a) for a in args)
        self.built = False
        self._chart: Any = None
        # Made later, maybe outside the tool's run: its money axes take the currency the tool ran with.
        self.currency = active()

    def build(self) -> Any:
        if not self.built:
            from tools import charts

            with using(self.currency):
                args = [a() if isinstance(a, Later) else a for a in self.args]
                self._chart = getattr(charts, self.builder)(*args)
            self.built, self.args = True, ()
        return self._chart

    def __getattr__(self, name: str) -> Any:
        # Only what the instance lacks reaches here; pickle and copy look up dunders on an empty instance.
        if name.startswith("__") or name in ("builder", "args", "built", "_chart", "currency"):
            raise AttributeError(name)
        return getattr(self.build(), name)

    def __repr__(self) -> str:
        return f"LazyChart({self.builder!r}{', built' if self.built else ''})"


class Later:
    """An argument of a ``LazyChart`` computed when the chart is made: ``fn(*args)`` (the chart's own table, say,
    where nothing else needs it). ``fn`` must be a module-level function, so the chart pickles."""

    def __init__(self, fn: Callable[..., Any], *args: Any) -> None:
        self.fn, self.args = fn, tuple(_snapshot(a) for a in args)

    def __call__(self) -> Any:
        return self.fn(*self.args)


def _snapshot(value: Any) -> Any:
    """A frame or dict as it is now, whatever its owner does to it later (a frame's copy is lazy)."""
    if hasattr(value, "columns") and hasattr(value, "copy"):
        return value.copy(deep=False)
    return dict(value) if isinstance(value, dict) else value


def built_chart(chart: Any) -> Any:
    """The chart itself, from a ``ToolResult.chart`` that may be a ``LazyChart``; None when there is none."""
    return chart.build() if isinstance(chart, LazyChart) else chart


@dataclass
class ToolResult:
    summary: str
    table: Any = None  # pandas DataFrame, for the person (may hold names and emails)
    chart: Any = None  # Altair chart, or a LazyChart that makes it when first used (``built_chart``)
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
    margin: float | None = None  # the owner's profit margin, set in the app's sidebar: value becomes profit
    # The shop's currency code, written beside every amount; None: read from the store when a tool runs,
    # "": the shop has none recorded (the app and the command line know it already and say which).
    currency: str | None = None
    # What the owner said in this conversation, where an agent passes it (the LLM agent does): a list, draft or
    # segment narrowed by age, gender or income is refused unless these words ask for it (tools.fairness).
    asked: str | None = None

    def read(self):
        """``with ctx.read() as con:`` a sandboxed, read-only connection, closed when the block ends."""
        return connect_sandboxed(self.db_path)

    def currency_code(self) -> str | None:
        """The currency amounts are written in: the one given, else the store's (None when there is none)."""
        if self.currency is not None:
            return self.currency or None
        from segmentation.store import StoreError

        if not Path(self.db_path).exists():
            return None
        try:
            with self.read() as con:
                return currency_of(con)[0]
        except StoreError:
            return None


def draw(ctx: ToolContext, builder: str, *args: Any) -> LazyChart | None:
    """A chart from ``tools.charts`` for the person, made when first shown (``LazyChart``), or None where nobody
    will see it (Altair not even loaded)."""
    if not ctx.artifacts:
        return None
    return LazyChart(builder, *args)


def csv_download(ctx: ToolContext, file_name: str, frame: Any) -> list[Download]:
    """The frame as a formula-safe CSV download, made when it is asked for, or nothing where nobody will
    download it."""
    if not ctx.artifacts:
        return []
    return [Download(file_name, CsvOf(frame))]


StepWords = str | Callable[[dict], str]


@dataclass(frozen=True)
class ToolSpec:
    """Everything the rest of the project knows about a tool, in one place (tests, planners, UI read it).

    ``step``: the status line's words while it runs ("Finding lapsed customers"), a string or a function of
    the arguments; ``done``: how the summary's first number reads when it ends ("{n} found"), or "" for
    "done"; ``examples``: questions an owner asks that this tool answers (the offline planner must plan
    each one to this tool, a test checks it); ``cues``: regular expressions over the cleaned question that
    point to this tool (the offline agent's own phrase table, ``agent.intents``, speaks for the tools it
    lists; the cues are how it finds any other); ``read_only``: whether running it again changes nothing
    (so a reloaded conversation may replay it); ``chart``: the chart builder in ``tools.charts`` it draws;
    ``next_step``: the next step said after its answer and the question a plain "yes" to it stands for.
    """

    name: str
    description: str
    args_model: type[BaseModel]
    fn: Callable[[ToolContext, BaseModel], ToolResult]
    step: StepWords = ""
    done: str = ""
    examples: tuple[str, ...] = ()
    cues: tuple[str, ...] = ()
    read_only: bool = True
    chart: str | None = None
    next_step: tuple[str, str | None] | None = None

    def step_words(self, args: dict) -> str:
        words = self.step(args) if callable(self.step) else self.step
        return words or f"Running {self.name.replace('_', ' ')}"


REGISTRY: dict[str, ToolSpec] = {}


def tool(name: str, args_model: type[BaseModel], **about: Any):
    """Register ``fn(ctx, args) -> ToolResult`` under ``name``; its docstring is what the model reads, and
    ``about`` fills the rest of its ``ToolSpec`` (step wording, examples, cues, read_only, chart, next step)."""

    def register(fn: Callable[[ToolContext, Any], ToolResult]):
        REGISTRY[name] = ToolSpec(name, (fn.__doc__ or "").strip(), args_model, fn, **about)
        return fn

    return register


def run_tool(name: str, raw_args: dict | None, ctx: ToolContext) -> ToolResult:
    """Validate and run one tool. Raises ToolArgsError (correctable) or ToolFailure (plain sentence)."""
    from segmentation.vocabulary import SegmentsError

    spec = REGISTRY.get(name)
    if spec is None:
        raise ToolArgsError(f"There is no tool '{name}'; the tools are: {', '.join(sorted(REGISTRY))}.")
    try:
        args = spec.args_model.model_validate(raw_args or {})
    except ValidationError as exc:
        raise ToolArgsError(explain_validation(name, exc)) from exc
    try:
        with using(ctx.currency_code()):
            return spec.fn(ctx, args)
    except SegmentsError as exc:
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
