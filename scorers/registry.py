"""Scorer kinds by the `type` a job spec names: one registry that the spec, the input checks,
the judge stage and the cross-sample stage all read.

A kind is its spec class plus how to build the scorer, in one of four shapes the pipeline
knows how to run: judged (prepare/finish around the judge), per-row (a map over row batches,
no judge), grouped (per-block digests, grouping per hash partition, labels for the rows in
shared groups, combine) or whole-dataset (every sample in one call). A kind may offer hooks
(scorers.hooks: its items, calibration, variance); the pipeline asks `hooks_of` and runs
those a kind has, never naming a kind. The built-in kinds are listed in `scorers.kinds`;
`register` adds one more (a plug-in, or a test).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar, get_args

from scorers.cross_sample.steps import GroupedScorer, WholeDatasetScorer
from scorers.hooks.kind_hooks import NO_HOOKS, KindHooks
from scorers.judged import JudgedScorer
from scorers.row_scorer import RowScorer
from scorers.scorer_spec import ScorerSpec
from scorers.truncating_scorer import TruncatingScorer

S = TypeVar("S", bound=ScorerSpec)


@dataclass(frozen=True)
class JudgedKind(Generic[S]):
    """Asks the judge: every judged scorer's requests for a batch go to the engine together."""

    spec: type[S]
    build: Callable[[S], JudgedScorer]
    hooks: KindHooks = NO_HOOKS


@dataclass(frozen=True)
class RowKind(Generic[S]):
    """Per sample, with no judge: a map over row batches in the data pass (see RowScorer)."""

    spec: type[S]
    build: Callable[[S], RowScorer]
    hooks: KindHooks = NO_HOOKS


@dataclass(frozen=True)
class GroupedKind(Generic[S]):
    """Across samples, grouped per hash partition on the cluster (see GroupedScorer)."""

    spec: type[S]
    build: Callable[[S], GroupedScorer]
    hooks: KindHooks = NO_HOOKS


@dataclass(frozen=True)
class WholeDatasetKind(Generic[S]):
    """Across samples, with every sample in one call, in dataset order."""

    spec: type[S]
    build: Callable[[S], WholeDatasetScorer]
    hooks: KindHooks = NO_HOOKS


ScorerKind = JudgedKind[Any] | RowKind[Any] | GroupedKind[Any] | WholeDatasetKind[Any]
HookName = Literal["items", "calibration", "variance"]

_kinds: dict[str, ScorerKind] = {}


def type_name(spec_class: type[ScorerSpec]) -> str:
    """The `type` value a spec class accepts: its `type: Literal["..."]` field."""
    names = get_args(spec_class.model_fields["type"].annotation)
    if len(names) != 1 or not isinstance(names[0], str):
        raise TypeError(f"{spec_class.__name__}.type must be Literal['<one name>']")
    return names[0]


def register(kind: ScorerKind) -> ScorerKind:
    """Add a kind; its spec's `type` must be new (registering the same kind again is a no-op)."""
    if not isinstance(kind, JudgedKind | RowKind | GroupedKind | WholeDatasetKind):
        raise TypeError(f"{kind!r} is not a JudgedKind, RowKind, GroupedKind or WholeDatasetKind")
    registry = _registry()
    name = type_name(kind.spec)
    if name in registry and registry[name] != kind:
        raise ValueError(f"scorer type {name!r} is already registered")
    registry[name] = kind
    return kind


def unregister(name: str) -> None:
    """Remove a kind registered with `register` (a plug-in's, a test's)."""
    _registry().pop(name, None)


def kinds() -> dict[str, ScorerKind]:
    return dict(_registry())


def kind_named(name: str) -> ScorerKind:
    registry = _registry()
    if name not in registry:
        raise ValueError(f"unknown scorer type {name!r}; known: {', '.join(sorted(registry))}")
    return registry[name]


def kind_of(spec: ScorerSpec) -> ScorerKind:
    return kind_named(spec.type)


def hooks_of(spec: ScorerSpec) -> KindHooks:
    return kind_of(spec).hooks


def hooks_named(name: str) -> KindHooks:
    """The hooks of the kind a run's manifest names; none for a kind not registered here."""
    kind = _registry().get(name)
    return NO_HOOKS if kind is None else kind.hooks


def types_offering(hook: HookName) -> list[str]:
    """The scorer types whose kind offers this hook, in registration order."""
    return [name for name, kind in _registry().items() if getattr(kind.hooks, hook) is not None]


def is_judged(spec: ScorerSpec) -> bool:
    return isinstance(kind_of(spec), JudgedKind)


def judged_scorer(spec: ScorerSpec) -> JudgedScorer:
    kind = kind_of(spec)
    if not isinstance(kind, JudgedKind):
        raise TypeError(f"scorer {spec.key!r} ({spec.type}) does not ask the judge")
    scorer = kind.build(spec)
    return scorer if spec.truncate is None else TruncatingScorer(scorer, spec.truncate)


def is_per_row(spec: ScorerSpec) -> bool:
    return isinstance(kind_of(spec), RowKind)


def row_scorer(spec: ScorerSpec) -> RowScorer:
    kind = kind_of(spec)
    if not isinstance(kind, RowKind):
        raise TypeError(f"scorer {spec.key!r} ({spec.type}) is not a per-row scorer")
    return kind.build(spec)


def takes_config(type_name: Any) -> bool:
    """Whether the kind named `type_name` has a `config` (values for << config.x >>)."""
    kind = _registry().get(str(type_name))
    return kind is not None and "config" in kind.spec.model_fields


def parse_scorer(raw: Any) -> Any:
    """A spec's scorer entry validated by its kind's spec class (pydantic BeforeValidator)."""
    if isinstance(raw, ScorerSpec):
        return raw
    if not isinstance(raw, dict):
        raise ValueError(f"a scorer is a mapping with a 'type', got {type(raw).__name__}")
    if "type" not in raw:
        raise ValueError(f"a scorer needs a 'type'; known: {', '.join(sorted(_registry()))}")
    return kind_named(str(raw["type"])).spec.model_validate(raw)


def _registry() -> dict[str, ScorerKind]:
    if not _kinds:
        from scorers.kinds import BUILTIN_KINDS

        for kind in BUILTIN_KINDS:
            _kinds[type_name(kind.spec)] = kind
    return _kinds
