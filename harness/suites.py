"""Suite files: YAML → a validated :class:`Suite`, with every mistake reported at once."""

from __future__ import annotations

import hashlib
import itertools
import math
import os
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, Field, PositiveInt, ValidationError, model_validator

from harness.registry import WORKLOAD_SETTINGS, UnknownName, did_you_mean
from harness.search_space import Param, Tuning


class SuiteError(ValueError):
    """A suite file with mistakes; ``problems`` lists each as ``path: message``."""

    def __init__(self, path: Path | str, problems: list[str]) -> None:
        self.path, self.problems = str(path), problems
        listed = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"{path}: {len(problems)} problem(s):\n{listed}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ArmRef(_Strict):
    arm: str
    reported: float


class Claim(_Strict):
    source: str
    statement: str
    metric: str = Field(description="the key of the final metric the claim is about")
    metric_label: str
    higher_is_better: bool = True
    baseline: ArmRef
    treatment: ArmRef
    notes: str = ""

    @property
    def direction(self) -> int:
        return 1 if self.higher_is_better else -1

    @property
    def claimed_effect(self) -> float:
        """Treatment − baseline as reported, oriented so an improvement is positive."""
        return self.direction * (self.treatment.reported - self.baseline.reported)


class Comparison(_Strict):
    """One paired comparison to judge: ``treatment`` − ``baseline`` on every protocol's metric.

    The claimed effect is ``claimed_effect`` if given, else the claim's own effect — unless
    only a ``margin`` is given: then the claim is about direction only, and a CI inside
    ±margin counts as "no difference".
    """

    baseline: str
    treatment: str
    claimed_effect: float | None = Field(None, gt=0, description="oriented so that better is positive")
    margin: float | None = Field(None, gt=0, description="smallest difference that matters (direction-only claims)")
    why: str = ""

    @property
    def direction_only(self) -> bool:
        return self.claimed_effect is None and self.margin is not None


class Stability(_Strict):
    """Is ``treatment`` steadier than ``baseline``: a smaller spread across seeds, and a flatter
    score across the tuning grid (robustness to the settings searched)?"""

    baseline: str
    treatment: str
    reported_sd: dict[str, float] = Field({}, description="standard deviations the source reported, by arm")
    why: str = ""


class Protocol(_Strict):
    """A way of turning one run into one number (e.g. which epoch's test accuracy counts)."""

    metric: str
    description: str
    selects_on_test: bool = Field(False, description="the number was chosen by looking at the test set")


class Workload(_Strict):
    name: str
    settings: dict[str, Any] = {}


class Arm(_Strict):
    description: str
    params: dict[str, Any] = {}
    search_space: dict[str, Param] = Field({}, description="this arm's own tuned settings (e.g. Lookahead's k)")


class Profile(_Strict):
    description: str
    seeds: PositiveInt
    jobs: PositiveInt = 1
    cost: str = Field("", description="measured cost, shown by `harness ls` and the README")
    overrides: dict[str, Any] = {}
    changes_protocol: str = Field(
        "", description="how this profile departs from the claim's protocol (said in the report)"
    )
    budget: int = Field(0, ge=0, description="tuning trials per arm, equal for every arm; 0 = untuned")
    compare_untuned: bool = Field(False, description="also confirm the claim's own settings, for the tuned effect")
    grid: dict[str, list[Any]] = Field(
        {},
        description="torture mode: the author's search — run i uses combination i mod N of these settings' values",
    )

    @model_validator(mode="after")
    def _grid_fits(self) -> Profile:
        if self.grid:
            if any(not values for values in self.grid.values()):
                raise ValueError("grid: every setting needs at least one value")
            if self.budget:
                raise ValueError(f"budget must be 0 in a grid (torture) profile, got {self.budget}")
            points = math.prod(len(values) for values in self.grid.values())
            if self.seeds % points:
                raise ValueError(
                    f"seeds: {self.seeds} is not a multiple of the grid's {points} combinations; "
                    f"use {points * max(1, round(self.seeds / points))}"
                )
        return self

    def grid_points(self) -> list[dict[str, Any]]:
        """Every combination of the grid's values ([{}] without a grid), in a fixed order."""
        return [dict(zip(self.grid, values, strict=True)) for values in itertools.product(*self.grid.values())]


class Suite(_Strict):
    name: str
    title: str
    claim: Claim
    workload: Workload
    arms: dict[str, Arm] = Field(min_length=2)
    profiles: dict[str, Profile] = Field(min_length=1)
    default_profile: str
    root_seed: int = Field(ge=0)
    tuning: Tuning = Tuning()
    comparisons: list[Comparison] = Field([], description="default: the claim's baseline vs treatment")
    protocols: dict[str, Protocol] = Field({}, description="default: one protocol, the claim's metric")
    stability: list[Stability] = Field([], description="spread across seeds and robustness across the tuning grid")

    path: Path | None = Field(None, exclude=True)
    digest: str = Field("", exclude=True)

    def settings(self, profile: str, arm: str, index: int = 0) -> BaseModel:
        """The workload settings of one (profile, arm, run index): suite < profile overrides < the
        run's grid point (torture profiles) < arm params."""
        spec = self.profiles[profile]
        points = spec.grid_points()
        point = points[index % len(points)]
        merged = {**self.workload.settings, **spec.overrides, **point, **self.arms[arm].params}
        return WORKLOAD_SETTINGS.get(self.workload.name)(**merged)

    def search_space(self, arm: str) -> dict[str, Param]:
        """The arm's tuned settings: the shared ranges plus its own."""
        return {**self.tuning.search_space, **self.arms[arm].search_space}

    def all_comparisons(self) -> list[Comparison]:
        """The comparisons to judge; the claim's own pair is always among them."""
        own = Comparison(baseline=self.claim.baseline.arm, treatment=self.claim.treatment.arm)
        return list(self.comparisons) or [own]

    def claimed_effect(self, comparison: Comparison) -> float | None:
        """The effect a comparison is held to (None: direction only)."""
        if comparison.claimed_effect is not None:
            return comparison.claimed_effect
        return None if comparison.direction_only else self.claim.claimed_effect

    def all_protocols(self) -> dict[str, Protocol]:
        """Protocols, the headline one (the claim's metric) first."""
        protocols = dict(self.protocols) or {"as run": Protocol(metric=self.claim.metric, description="as run")}
        return dict(sorted(protocols.items(), key=lambda item: item[1].metric != self.claim.metric))

    def profile(self, name: str | None) -> tuple[str, Profile]:
        name = name or self.default_profile
        if name not in self.profiles:
            raise SuiteError(
                self.path or self.name,
                [
                    f"profiles: unknown profile '{name}'{did_you_mean(name, self.profiles)}; "
                    f"known: {', '.join(self.profiles)}"
                ],
            )
        return name, self.profiles[name]


def suites_dir() -> Path:
    return Path(os.environ.get("HARNESS_SUITES_DIR", "suites"))


def suite_files() -> list[Path]:
    return sorted(suites_dir().glob("*.yaml"))


def resolve(name_or_path: str) -> Path:
    """A suite name (``fashion``) or a path to a YAML file → the file's path."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or candidate.exists():
        if not candidate.is_file():
            raise SuiteError(candidate, ["file not found"])
        return candidate
    path = suites_dir() / f"{name_or_path}.yaml"
    if not path.is_file():
        known = [p.stem for p in suite_files()]
        raise SuiteError(
            path,
            [
                f"no suite named '{name_or_path}'{did_you_mean(name_or_path, known)}; "
                f"known: {', '.join(known) or 'none'} (in {suites_dir()})"
            ],
        )
    return path


def read_yaml(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    try:
        return yaml.safe_load(text), text
    except yaml.YAMLError as error:
        raise SuiteError(path, [f"not valid YAML: {error}"]) from None


def _location(loc: tuple) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def _describe(error: dict, fields_at) -> str:
    loc = tuple(error["loc"])
    where = _location(loc)
    if error["type"] == "extra_forbidden":
        key = loc[-1]
        return f"{where}: unknown key '{key}'{did_you_mean(key, fields_at(loc[:-1]))}"
    if error["type"] == "missing":
        return f"{where}: required key is missing"
    value = error.get("input")
    shown = "" if isinstance(value, dict) else f" (got {value!r})"
    message = error["msg"].removeprefix("Value error, ")
    return f"{where}: {message}{shown}" if where != "(top level)" else message


def _fields_of(loc: tuple) -> list[str]:
    """Field names of the (nested) suite model at ``loc``, for did-you-mean."""
    current: type[BaseModel] = Suite
    parts = list(loc)
    while parts:
        field = current.model_fields.get(parts.pop(0))
        if field is None:
            return []
        annotation = field.annotation
        if get_origin(annotation) is dict:
            annotation = get_args(annotation)[1]
            if parts:
                parts.pop(0)  # the arm or profile name
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        current = annotation
    return list(current.model_fields)


def _reference_problems(data: dict) -> list[str]:
    """Names that must refer to arms or profiles of the same file, and the claim's direction."""

    def section(key: str) -> dict:
        value = data.get(key)
        return value if isinstance(value, dict) else {}

    claim, arms, profiles = section("claim"), section("arms"), section("profiles")
    problems = []
    refs = {}
    for role in ("baseline", "treatment"):
        ref = claim.get(role)
        if isinstance(ref, dict) and isinstance(ref.get("arm"), str):
            refs[role] = ref
            if arms and ref["arm"] not in arms:
                problems.append(f"claim.{role}.arm: unknown arm '{ref['arm']}'{did_you_mean(ref['arm'], arms)}")
    for i, comparison in enumerate(data.get("comparisons") or []):
        if not isinstance(comparison, dict):
            continue
        for role in ("baseline", "treatment"):
            name = comparison.get(role)
            if isinstance(name, str) and arms and name not in arms:
                problems.append(f"comparisons.{i}.{role}: unknown arm '{name}'{did_you_mean(name, arms)}")
        if comparison.get("baseline") == comparison.get("treatment"):
            problems.append(f"comparisons.{i}.treatment: must differ from the baseline")
    for i, pair in enumerate(data.get("stability") or []):
        if not isinstance(pair, dict):
            continue
        for role in ("baseline", "treatment"):
            name = pair.get(role)
            if isinstance(name, str) and arms and name not in arms:
                problems.append(f"stability.{i}.{role}: unknown arm '{name}'{did_you_mean(name, arms)}")
        for name in pair.get("reported_sd") or {}:
            if arms and name not in (pair.get("baseline"), pair.get("treatment")):
                problems.append(f"stability.{i}.reported_sd: '{name}' is neither this pair's baseline nor treatment")
    problems += _grid_sampler_problems(data)
    protocols = section("protocols")
    metrics = [p.get("metric") for p in protocols.values() if isinstance(p, dict)]
    if metrics and claim.get("metric") not in metrics:
        problems.append(
            f"claim.metric: '{claim.get('metric')}' is not the metric of any protocol "
            f"({', '.join(map(str, metrics))}); the claim's metric gives the headline verdict"
        )
    default = data.get("default_profile")
    if isinstance(default, str) and profiles and default not in profiles:
        problems.append(f"default_profile: unknown profile '{default}'{did_you_mean(default, profiles)}")
    if len(refs) == 2 and refs["baseline"]["arm"] == refs["treatment"]["arm"]:
        problems.append("claim.treatment.arm: must differ from claim.baseline.arm")
    reported = [refs.get(r, {}).get("reported") for r in ("baseline", "treatment")]
    if all(isinstance(v, (int, float)) for v in reported):
        direction = 1 if claim.get("higher_is_better", True) else -1
        if direction * (reported[1] - reported[0]) <= 0:
            problems.append(
                f"claim: the reported treatment is not better than the reported baseline ({reported[1]} vs "
                f"{reported[0]}, higher_is_better={claim.get('higher_is_better', True)}); swap the arms"
            )
    return problems


def _grid_sampler_problems(data: dict) -> list[str]:
    """A grid sampler needs choices for every tuned setting and a budget equal to the grid's size."""
    tuning = data.get("tuning") if isinstance(data.get("tuning"), dict) else {}
    sampler = tuning.get("sampler") if isinstance(tuning.get("sampler"), dict) else {}
    if sampler.get("kind") != "grid":
        return []
    shared = tuning.get("search_space") if isinstance(tuning.get("search_space"), dict) else {}
    problems, sizes = [], {}
    for arm, spec in (data.get("arms") or {}).items():
        own = spec.get("search_space") if isinstance(spec, dict) and isinstance(spec.get("search_space"), dict) else {}
        space = {**shared, **own}
        ranges = [name for name, param in space.items() if not (isinstance(param, dict) and param.get("choices"))]
        for name in ranges:
            where = "tuning.search_space" if name in shared else f"arms.{arm}.search_space"
            problems.append(f"{where}.{name}: the grid sampler needs 'choices' (a list of values), not a range")
        if not ranges:
            sizes[arm] = math.prod(len(param["choices"]) for param in space.values())
    for profile, spec in (data.get("profiles") or {}).items():
        budget = spec.get("budget", 0) if isinstance(spec, dict) else 0
        wrong = {arm: size for arm, size in sizes.items() if budget and budget != size}
        if wrong:
            listed = ", ".join(f"{arm}: {size}" for arm, size in wrong.items())
            problems.append(
                f"profiles.{profile}.budget: {budget} is not the size of the tuning grid ({listed}); "
                "with the grid sampler every arm tries its whole grid, so set the budget to it (or 0)"
            )
    return list(dict.fromkeys(problems))


def _settings_problems(data: dict) -> list[str]:
    """Validate the workload settings of every (profile, arm), naming the key's source."""
    workload = data.get("workload") or {}
    name = workload.get("name")
    try:
        settings_model = WORKLOAD_SETTINGS.get(name)
    except UnknownName as error:
        return [f"workload.name: {error}"]
    base = workload.get("settings") or {}
    profiles = {k: (v or {}).get("overrides") or {} for k, v in (data.get("profiles") or {}).items()}
    grids = {k: (v or {}).get("grid") or {} for k, v in (data.get("profiles") or {}).items()}
    arms = {k: (v or {}).get("params") or {} for k, v in (data.get("arms") or {}).items()}
    if not all(isinstance(x, dict) for x in [base, *profiles.values(), *arms.values()]):
        return []  # structural errors are reported by the schema
    fields = list(settings_model.model_fields)
    problems: list[str] = _search_space_problems(data, fields, name)
    for profile, overrides in (profiles or {"(none)": {}}).items():
        grid = grids.get(profile, {})
        points = (
            [dict(zip(grid, v, strict=True)) for v in itertools.product(*grid.values())]
            if isinstance(grid, dict) and all(isinstance(v, list) for v in grid.values())
            else [{}]
        )
        for (arm, params), point in itertools.product((arms or {"(none)": {}}).items(), points):
            try:
                settings_model(**{**base, **overrides, **point, **params})
            except ValidationError as error:
                for item in error.errors():
                    key = item["loc"][0] if item["loc"] else None
                    if key in params:
                        where = ("arms", arm, "params")
                    elif key in point:
                        where = ("profiles", profile, "grid")
                    elif key in overrides:
                        where = ("profiles", profile, "overrides")
                    else:
                        where = ("workload", "settings")
                    problems.append(_describe({**item, "loc": (*where, *item["loc"])}, lambda _: fields))
    return list(dict.fromkeys(problems))


def _search_space_problems(data: dict, fields: list[str], workload: str) -> list[str]:
    """Tuned names must be settings of the workload; an arm may add names, not redefine shared ones."""
    tuning = data.get("tuning") if isinstance(data.get("tuning"), dict) else {}
    shared = tuning.get("search_space") if isinstance(tuning.get("search_space"), dict) else {}
    spaces = {("tuning", "search_space"): shared}
    for arm, spec in (data.get("arms") or {}).items():
        if isinstance(spec, dict) and isinstance(spec.get("search_space"), dict):
            spaces[("arms", arm, "search_space")] = spec["search_space"]
    problems = []
    for where, space in spaces.items():
        for name in space:
            path = ".".join((*where, str(name)))
            if name not in fields:
                problems.append(
                    f"{path}: unknown parameter '{name}' for workload '{workload}'{did_you_mean(name, fields)}"
                )
            elif where[0] == "arms" and name in shared:
                problems.append(f"{path}: '{name}' is shared (tuning.search_space): every arm gets the same range")
    return problems


def load(name_or_path: str | Path) -> Suite:
    """Load and validate a suite; raise :class:`SuiteError` listing every problem."""
    path = resolve(str(name_or_path))
    data, text = read_yaml(path)
    if not isinstance(data, dict):
        raise SuiteError(path, ["the file must be a YAML mapping (key: value) at the top level"])
    problems: list[str] = []
    suite = None
    try:
        suite = Suite(**data, path=path, digest=hashlib.sha256(text.encode()).hexdigest())
    except ValidationError as error:
        problems += [_describe(item, _fields_of) for item in error.errors()]
    problems += _reference_problems(data) + _settings_problems(data)
    if problems:
        raise SuiteError(path, list(dict.fromkeys(problems)))
    assert suite is not None
    return suite
