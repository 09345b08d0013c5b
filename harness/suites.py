"""Suite files: YAML → a validated :class:`Suite`, with every mistake reported at once."""

from __future__ import annotations

import hashlib
import itertools
import math
import os
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, Field, PositiveInt, ValidationError, model_validator

from harness import keras_config
from harness.derived import DERIVED_KINDS, Derived, TimeToTarget, curve_range
from harness.keras_config import RANGE_RUNTIME, RUNTIME
from harness.registry import WORKLOAD_SETTINGS, UnknownName, did_you_mean
from harness.search_space import Param, Tuning
from harness.workloads.components import SELECTS_ON_TEST, STEP, VALIDATION, WorkloadSettings, axis_key


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
    reported: float | None = Field(None, description="the source's number; leave both out for a direction-only claim")


class Claim(_Strict):
    source: str
    statement: str
    metric: str = Field(description="the key of the final metric the claim is about")
    metric_label: str
    higher_is_better: bool = True
    baseline: ArmRef
    treatment: ArmRef
    margin: float | None = Field(
        None,
        gt=0,
        description="direction-only claims: the smallest difference that matters (a CI inside ±margin: none); "
        "for a speed claim, on the log ratio (0.1: about 10% faster)",
    )
    claimed_ratio: float | None = Field(
        None, gt=1, description='speed claims: "k× faster", baseline time ÷ treatment time to the target'
    )
    equivalence: bool = Field(
        False, description="the claim is that the arms do not differ by more than ±margin (judged by TOST)"
    )
    non_inferiority: bool = Field(
        False,
        description="the claim is that the treatment is not worse than the baseline by more than margin (judged "
        "by the CI's lower end, a one-sided test)",
    )
    notes: str = ""

    @property
    def direction(self) -> int:
        return 1 if self.higher_is_better else -1

    @property
    def claimed_effect(self) -> float | None:
        """Treatment − baseline as reported, oriented so an improvement is positive; a speed claim's
        log(claimed_ratio); None: direction only."""
        if self.claimed_ratio is not None:
            return math.log(self.claimed_ratio)
        if self.equivalence or self.non_inferiority or None in (self.baseline.reported, self.treatment.reported):
            return None
        return self.direction * (self.treatment.reported - self.baseline.reported)

    @model_validator(mode="after")
    def _effect_or_margin(self) -> Claim:
        given = (self.baseline.reported is not None) + (self.treatment.reported is not None)
        if given == 1:
            raise ValueError("give both reported values (a claimed effect) or neither (a direction, with margin)")
        if given and self.claimed_ratio is not None:
            raise ValueError("give reported values or claimed_ratio, not both")
        given += 2 * (self.claimed_ratio is not None)
        _one_margin_claim(self.equivalence, self.non_inferiority, given or None, self.margin)
        if not given and self.margin is None:
            raise ValueError("a claim without reported values is about direction: give its margin")
        return self


class Comparison(_Strict):
    """One paired comparison to judge: ``treatment`` − ``baseline`` on every protocol's metric, or
    on its own ``metric`` (a final or derived metric, on its own scale: a speed claim beside an
    accuracy claim in one suite).

    The claimed effect is ``claimed_effect`` if given, else the claim's own effect — unless
    only a ``margin`` is given: then the claim is about direction only, and a CI inside
    ±margin counts as "no difference". A comparison on a metric other than the claim's states
    its own ``claimed_effect``, ``claimed_ratio`` or ``margin``.
    """

    baseline: str
    treatment: str
    metric: str | None = Field(None, description="judge this pair on this metric only; default: every protocol's")
    higher_is_better: bool | None = Field(
        None,
        description="default: lower for a time to target or a loss, the claim's direction for the claim's metric, "
        "else higher",
    )
    claimed_effect: float | None = Field(None, gt=0, description="oriented so that better is positive")
    claimed_ratio: float | None = Field(None, gt=1, description="speed claims: k× faster")
    margin: float | None = Field(None, gt=0, description="smallest difference that matters (direction-only claims)")
    equivalence: bool | None = Field(
        None, description="the arms do not differ by more than ±margin; default: the claim's, on the claim's metric"
    )
    non_inferiority: bool | None = Field(
        None,
        description="the treatment is not worse by more than margin; default: the claim's, on the claim's metric",
    )
    why: str = ""

    @property
    def direction_only(self) -> bool:
        return self.claimed_effect is None and self.claimed_ratio is None and self.margin is not None

    @model_validator(mode="after")
    def _equivalence_margin(self) -> Comparison:
        claimed = self.claimed_effect or self.claimed_ratio
        _one_margin_claim(self.equivalence, self.non_inferiority, claimed, self.margin)
        return self


def _one_margin_claim(equivalence: bool | None, non_inferiority: bool | None, claimed, margin: float | None) -> None:
    """An equivalence or a non-inferiority claim (not both) states a margin and no claimed effect."""
    if equivalence and non_inferiority:
        raise ValueError(
            "equivalence (no difference beyond ±margin) and non_inferiority (not worse by more than margin) "
            "exclude each other: keep one"
        )
    kind = "an equivalence" if equivalence else "a non-inferiority" if non_inferiority else None
    if kind and (claimed or margin is None):
        raise ValueError(
            f"{kind} claim gives its margin (the largest difference that does not matter) and no reported "
            "values, claimed_effect or claimed_ratio"
        )


class Stability(_Strict):
    """Is ``treatment`` steadier than ``baseline``: a smaller spread across seeds, and a flatter
    score across the tuning grid (robustness to the settings searched)?"""

    baseline: str
    treatment: str
    metric: str | None = Field(None, description="the spread of this final metric; default: the claim's")
    reported_sd: dict[str, float] = Field({}, description="standard deviations the source reported, by arm")
    why: str = ""


class Check(_Strict):
    """A fact that must hold in every run, not an average: e.g. folding batch normalization leaves
    the predictions unchanged. Judged on the largest (``below``) or smallest (``above``) value over
    the runs of ``arms``, and reported with the worst run."""

    metric: str = Field(description="a final metric of each run")
    of: Literal["each_run", "sd_across_seeds"] = Field(
        "each_run",
        description="each_run: every run's value is within the bound; sd_across_seeds: each arm's standard "
        "deviation across seeds is, with 95% confidence (its BCa interval entirely within the bound)",
    )
    below: float | None = Field(None, description="every run's value (or the SD) must be below this")
    above: float | None = Field(None, description="every run's value (or the SD) must be above this")
    arms: list[str] = Field([], description="the arms whose runs are checked; default: every arm")
    why: str = ""

    @model_validator(mode="after")
    def _one_bound(self) -> Check:
        if (self.below is None) == (self.above is None):
            raise ValueError("give one bound: below (every run under it) or above (every run over it)")
        return self


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


EVIDENCE, PLUMBING, SEARCH = "evidence", "plumbing", "search"


class Profile(_Strict):
    description: str
    role: Literal["evidence", "plumbing", "search"] | None = Field(
        None,
        description="what its report is: evidence about the claim, a plumbing check (its reports go to runs/reports "
        "unless --reports-dir says otherwise) or the author's search run in full; default: search for a grid, "
        "plumbing for a profile named smoke, else evidence",
    )
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
    checks: dict[str, Check] = Field({}, description="facts every run must show (a bound on the worst run)")
    ranking: str | None = Field(
        None, description="rank every arm by this final metric in the report (a tuned report: beside the untuned)"
    )
    derived: dict[str, Derived] = Field(
        {}, description="metrics computed from each run's curve: time to a target, area under it, best within a budget"
    )

    path: Path | None = Field(None, exclude=True)
    digest: str = Field("", exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _speed_claims_minimise(cls, data: Any) -> Any:
        """A time to target is better when lower: a speed claim says so itself."""
        if isinstance(data, dict) and isinstance(data.get("claim"), dict) and isinstance(data.get("derived"), dict):
            spec = data["derived"].get(data["claim"].get("metric"))
            if isinstance(spec, dict) and spec.get("kind") == "time_to_target":
                data = data | {"claim": {"higher_is_better": False} | data["claim"]}
        return data

    def is_speed(self, metric: str) -> bool:
        """Whether ``metric`` is a time to target (judged as a ratio, on the log scale)."""
        return isinstance(self.derived.get(metric), TimeToTarget)

    def trial_metric(self) -> str:
        """What a confirmation trial reports to Optuna: the claim's metric, or the tuning objective when
        the claim's metric is derived (computed across runs at report time)."""
        return self.tuning.objective if self.claim.metric in self.derived else self.claim.metric

    def settings_layers(
        self, profile: str, arm: str, index: int = 0, sampled: dict[str, Any] | None = None
    ) -> list[tuple[str, dict[str, Any]]]:
        """The layers a trial's settings are merged from, each named by where it is in the file."""
        spec = self.profiles[profile]
        points = spec.grid_points()
        return layers(
            self.workload.settings,
            profile,
            spec.overrides,
            points[index % len(points)],
            arm,
            self.arms[arm].params,
            sampled or {},
            self.tuning.search_space,
        )

    def trial_settings(
        self, profile: str, arm: str, index: int = 0, sampled: dict[str, Any] | None = None
    ) -> WorkloadSettings:
        """The one resolver of a trial's settings: suite < profile overrides < the run's grid point
        (torture profiles) < arm params < tuned values (``sampled``, dotted names)."""
        merged = merge_layers(self.settings_layers(profile, arm, index, sampled))
        return WORKLOAD_SETTINGS.get(self.workload.name)(**merged)

    def settings_dict(self, profile: str, arm: str, index: int = 0, sampled: dict[str, Any] | None = None) -> dict:
        """:meth:`trial_settings` as the plain dict a trial records (and hashes)."""
        return self.trial_settings(profile, arm, index, sampled).model_dump(mode="json")

    def search_space(self, arm: str) -> dict[str, Param]:
        """The arm's tuned settings: the shared ranges plus its own."""
        return {**self.tuning.search_space, **self.arms[arm].search_space}

    def all_comparisons(self) -> list[Comparison]:
        """The comparisons to judge; the claim's own pair is always among them."""
        margin = self.claim.margin if self.claim.claimed_effect is None else None
        own = Comparison(baseline=self.claim.baseline.arm, treatment=self.claim.treatment.arm, margin=margin)
        return list(self.comparisons) or [own]

    def judged_on(self, comparison: Comparison) -> list[tuple[str, str]]:
        """The (protocol name, metric) pairs a comparison is judged on: its own metric, or every protocol."""
        if comparison.metric is not None:
            return [(comparison.metric, comparison.metric)]
        return [(name, protocol.metric) for name, protocol in self.all_protocols().items()]

    def direction(self, comparison: Comparison, metric: str) -> int:
        """+1 if a higher ``metric`` is better for this comparison, else −1."""
        if comparison.higher_is_better is not None:
            return 1 if comparison.higher_is_better else -1
        if comparison.metric is None and not self.is_speed(metric):  # a protocol's metric: the claim's scale
            return self.claim.direction
        return self.metric_direction(metric)

    def metric_direction(self, metric: str) -> int:
        """+1 if a higher ``metric`` is better: the claim's direction for its metric, lower for a time to
        target or a loss, else higher."""
        if metric == self.claim.metric:
            return self.claim.direction
        return -1 if self.is_speed(metric) or "loss" in metric else 1

    def is_equivalence(self, comparison: Comparison) -> bool:
        """Whether the comparison claims no difference beyond ±margin: its own say, else the claim's on its metric."""
        if comparison.equivalence is not None or comparison.non_inferiority:
            return bool(comparison.equivalence)
        return self.claim.equivalence and comparison.metric in (None, self.claim.metric)

    def is_non_inferiority(self, comparison: Comparison) -> bool:
        """Whether the comparison claims the treatment not worse by more than its margin (as ``is_equivalence``)."""
        if comparison.non_inferiority is not None or comparison.equivalence:
            return bool(comparison.non_inferiority)
        return self.claim.non_inferiority and comparison.metric in (None, self.claim.metric)

    def claimed_effect(self, comparison: Comparison) -> float | None:
        """The effect a comparison is held to (a speed-up as its log ratio; None: direction only)."""
        if comparison.claimed_ratio is not None:
            return math.log(comparison.claimed_ratio)
        if comparison.claimed_effect is not None:
            return comparison.claimed_effect
        if comparison.direction_only:
            return None
        return self.claim.claimed_effect

    def margin(self, comparison: Comparison) -> float | None:
        """The comparison's margin; a direction-only claim lends its own to a comparison on its metric."""
        own_scale = comparison.metric in (None, self.claim.metric)
        if comparison.margin is not None or self.claim.claimed_effect is not None or not own_scale:
            return comparison.margin
        return self.claim.margin

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

    def role(self, profile: str) -> str:
        """Whether a profile's report is evidence about the claim, a plumbing check or a protocol search."""
        spec = self.profiles[profile]
        if spec.role:
            return spec.role
        if spec.grid:
            return SEARCH
        return PLUMBING if profile == "smoke" else EVIDENCE


# merging settings --------------------------------------------------------------------------
def expand(layer: dict[str, Any]) -> dict[str, Any]:
    """Dotted keys (``optimizer.config.learning_rate: 0.01``) → nested mappings."""
    nested: dict[str, Any] = {}
    for key, value in layer.items():
        *parents, last = str(key).split(".")
        target = nested
        for part in parents:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                raise ValueError(f"{key}: '{part}' is not a mapping, so it has no '{last}'")
        target[last] = merge(target[last], value) if isinstance(target.get(last), dict) else value
    return nested


def _switches(old: dict, new: dict) -> bool:
    """A component of another kind (class_name or name changes) replaces the earlier one whole."""
    return any(tag in old and tag in new and old[tag] != new[tag] for tag in ("class_name", "name"))


def merge(base: dict[str, Any], layer: dict[str, Any]) -> dict[str, Any]:
    """``layer`` over ``base``: mappings merge key by key, anything else replaces."""
    merged = dict(base)
    for key, value in expand(layer).items():
        old = merged.get(key)
        both = isinstance(old, dict) and isinstance(value, dict)
        merged[key] = merge(old, value) if both and not _switches(old, value) else value
    return merged


def layers(
    base: dict, profile: str, overrides: dict, point: dict, arm: str, params: dict, sampled: dict, shared: dict
) -> list[tuple[str, dict[str, Any]]]:
    """The named layers of one trial's settings, lowest first (tuned values split by where their range is)."""
    return [
        ("workload.settings", base),
        (f"profiles.{profile}.overrides", overrides),
        (f"profiles.{profile}.grid", point),
        (f"arms.{arm}.params", params),
        ("tuning.search_space", {k: v for k, v in sampled.items() if k in shared}),
        (f"arms.{arm}.search_space", {k: v for k, v in sampled.items() if k not in shared}),
    ]


def merge_layers(named: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for _, layer in named:
        merged = merge(merged, layer)
    return merged


def origin(named: list[tuple[str, dict[str, Any]]], path: tuple) -> str:
    """The layer that set the deepest part of ``path`` (the latest layer on a tie)."""
    best, depth = named[0][0], 0
    for name, layer in named:
        value, found = expand(layer), 0
        for part in path:
            if not isinstance(value, dict) or part not in value:
                break
            value, found = value[part], found + 1
        if found and found >= depth:
            best, depth = name, found
    return best


def suites_dir() -> Path:
    return Path(os.environ.get("HARNESS_SUITES_DIR", "suites"))


def describe_suites_dir() -> str:
    """Where suite names are looked up, said so that a user in another folder knows what to do."""
    folder = suites_dir()
    if "HARNESS_SUITES_DIR" in os.environ:
        return f"{folder} (HARNESS_SUITES_DIR)"
    return (
        f"{folder.resolve()}: suite names are looked up in ./suites of the current folder — run from the "
        "project folder, set HARNESS_SUITES_DIR, or give a YAML path"
    )


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
                f"known: {', '.join(known) or 'none'} (in {describe_suites_dir()})"
            ],
        )
    return path


class _RepeatedKey(yaml.YAMLError):
    """A mapping that gives one key twice."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (YAML says keys are unique)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if isinstance(key, str | int | float | bool) and key in first_line:
                raise _RepeatedKey(
                    f"key '{key}' is given twice in one mapping, on lines {first_line[key]} and {line} "
                    "(YAML would silently keep the last): delete one"
                )
            first_line.setdefault(key, line)
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: Path) -> Any:
    """A suite file's data and text: one clear error for text that is not UTF-8, invalid YAML or a repeated key."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SuiteError(
            path,
            [
                f"not a UTF-8 text file (byte 0x{raw[error.start]:02x} at offset {error.start}): "
                "a suite is a YAML text file; save it as UTF-8"
            ],
        ) from None
    if "\x00" in text:
        raise SuiteError(path, ["not a text file (it holds NUL bytes): a suite is a YAML text file"])
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader), text
    except _RepeatedKey as error:
        raise SuiteError(path, [str(error)]) from None
    except yaml.YAMLError as error:
        raise SuiteError(path, [f"not valid YAML: {error}"]) from None


def _location(loc: tuple) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def _describe(error: dict, fields_at) -> str:
    loc = tuple(error["loc"])
    if loc[:1] == ("derived",) and len(loc) > 2 and loc[2] in DERIVED_KINDS:  # pydantic's union tag, not in the file
        loc = loc[:2] + loc[3:]
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
    for name, check in _section(data, "checks").items():
        listed = check.get("arms") if isinstance(check, dict) and isinstance(check.get("arms"), list) else []
        for arm in listed:
            if isinstance(arm, str) and arms and arm not in arms:
                problems.append(f"checks.{name}.arms: unknown arm '{arm}'{did_you_mean(arm, arms)}")
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


def _speed_problems(data: dict) -> list[str]:
    """Targets a curve can reach, relative targets naming arms, and ratios only for speed claims."""
    claim, derived, arms = _section(data, "claim"), _section(data, "derived"), _section(data, "arms")
    problems = []
    for name, spec in derived.items():
        target = spec.get("target") if isinstance(spec, dict) else None
        if not isinstance(target, dict):
            continue
        curve = str(spec.get("curve", TimeToTarget.model_fields["curve"].default))
        low, high = curve_range(curve)
        value = target.get("value")
        if isinstance(value, int | float) and not low <= value <= high:
            problems.append(
                f"derived.{name}.target.value: {value} is outside the values '{curve}' can take "
                f"([{low:g}, {high:g}]): no run could ever reach it"
            )
        arm = target.get("relative_to")
        if isinstance(arm, str) and arms and arm not in arms:
            problems.append(f"derived.{name}.target.relative_to: unknown arm '{arm}'{did_you_mean(arm, arms)}")

    def speed(metric: Any) -> bool:
        return isinstance(derived.get(metric), dict) and derived[metric].get("kind") == "time_to_target"

    claim_is_speed = speed(claim.get("metric"))
    if claim.get("claimed_ratio") is not None and not claim_is_speed:
        problems.append(
            f"claim.claimed_ratio: '{claim.get('metric')}' is not a time to target; a ratio needs a speed metric "
            "(declare one under derived: with kind: time_to_target), a difference needs reported values"
        )
    if claim_is_speed:
        for role in ("baseline", "treatment"):
            if isinstance(claim.get(role), dict) and claim[role].get("reported") is not None:
                problems.append(
                    f"claim.{role}.reported: a speed claim is held to a ratio: write claimed_ratio "
                    "(baseline time ÷ treatment time, e.g. 5 for '1/5 of the iterations') instead of reported values"
                )
        if claim.get("higher_is_better") is True:
            problems.append("claim.higher_is_better: a time to target is better when lower; remove it")
    for i, comparison in enumerate(data.get("comparisons") or []):
        if not isinstance(comparison, dict):
            continue
        own = comparison.get("metric")
        is_speed, whose = (speed(own), f"'{own}'") if own is not None else (claim_is_speed, "the claim's metric")
        if comparison.get("claimed_ratio") is not None and not is_speed:
            problems.append(f"comparisons.{i}.claimed_ratio: {whose} is not a time to target; use claimed_effect")
        if comparison.get("claimed_effect") is not None and is_speed:
            problems.append(
                f"comparisons.{i}.claimed_effect: {whose} is a time to target, held to a ratio; use claimed_ratio"
            )
        stated = any(comparison.get(k) is not None for k in ("claimed_effect", "claimed_ratio", "margin"))
        if own is not None and own != claim.get("metric") and not stated:
            problems.append(
                f"comparisons.{i}: judged on its own metric '{own}', it needs its own claimed_effect"
                f"{', claimed_ratio' if is_speed else ''} or margin (the claim's are on another scale)"
            )
    for name, protocol in _section(data, "protocols").items():
        if isinstance(protocol, dict) and "metric" in protocol and speed(protocol["metric"]) != claim_is_speed:
            problems.append(
                f"protocols.{name}.metric: '{protocol['metric']}' is {'' if claim_is_speed else 'not '}a "
                f"difference and the claim's metric is {'a time to target' if claim_is_speed else 'a difference'}; "
                "a suite's protocols are judged on one scale: judge a pair on the other metric with a comparison "
                "of its own (comparisons: [{baseline: …, treatment: …, metric: …}])"
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


def _section(data: dict, key: str) -> dict:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _probes(param: Any) -> list[Any]:
    """Values a tuned setting can take that validation tries: every choice, or both ends of a range."""
    if not isinstance(param, dict):
        return []
    if isinstance(param.get("choices"), list):
        return param["choices"]
    ends = [param.get("low"), param.get("high")]
    return [int(v) if param.get("integer") else v for v in ends if isinstance(v, int | float)]


def _model_fields(model: type[BaseModel], loc: tuple, value: Any) -> list[str]:
    """Field names of the (nested) settings model at ``loc``, a union resolved by the value's ``name``."""
    for part in loc:
        field = model.model_fields.get(part)
        value = value.get(part) if isinstance(value, dict) else None
        if field is None:
            return []
        candidates = [t for t in _types_in(field.annotation) if isinstance(t, type) and issubclass(t, BaseModel)]
        if len(candidates) > 1 and isinstance(value, dict):
            candidates = [t for t in candidates if value.get("name") in _types_in(t.model_fields["name"].annotation)]
        if len(candidates) != 1:
            return []
        model = candidates[0]
    return list(model.model_fields)


def _types_in(annotation: Any) -> list[Any]:
    """The types (and Literal values) inside an annotation: unions, Optional, Annotated, Literal."""
    args = get_args(annotation)
    if not args:
        return [annotation]
    if get_origin(annotation) in (dict, list, tuple):
        return []
    return [found for arg in args for found in _types_in(arg)]


def _without_tags(loc: tuple, merged: dict) -> tuple:
    """pydantic puts a union member's tag (``model.mlp.units``) in the path; the file has none."""
    cleaned, value = [], merged
    for part in loc:
        if isinstance(value, dict) and part not in value and value.get("name") == part:
            continue
        cleaned.append(part)
        value = value.get(part) if isinstance(value, dict) else None
    return tuple(cleaned)


def _settings_message(item: dict, loc: tuple, model: type[BaseModel], merged: dict) -> str:
    path = ".".join(map(str, loc))
    if item["type"] == "extra_forbidden":
        known = _model_fields(model, loc[:-1], merged)
        return f"{path}: unknown key '{loc[-1]}'{did_you_mean(loc[-1], known)}; it takes: {', '.join(known)}"
    if item["type"] in ("union_tag_invalid", "union_tag_not_found"):
        tags = str(item.get("ctx", {}).get("expected_tags", "")).replace("'", "").split(", ")
        tag = item.get("ctx", {}).get("tag", "")
        what = f"unknown name '{tag}'{did_you_mean(tag, tags)}" if tag else "required key is missing"
        return f"{path}.name: {what}; known: {', '.join(tags)}"
    if item["type"] == "missing":
        return f"{path}: required key is missing"
    value = item.get("input")
    shown = "" if isinstance(value, dict) else f" (got {value!r})"
    return f"{path}: {item['msg'].removeprefix('Value error, ')}{shown}"


def check_settings(
    model: type[WorkloadSettings], named: list[tuple[str, dict[str, Any]]]
) -> tuple[WorkloadSettings | None, list[str]]:
    """Merge and validate one trial's layers; each problem is named by the layer that caused it."""
    try:
        merged = merge_layers(named)
    except ValueError as error:
        return None, [f"{named[-1][0]}: {error}"]

    def located(problem: str) -> str:
        path, _, message = problem.partition(": ")
        return f"{origin(named, tuple(path.split('.')))}.{path}: {message}"

    problems = [located(p) for p in _optimizer_problems(model, merged)]
    try:
        settings = model(**merged)
    except ValidationError as error:
        for item in error.errors():
            loc = _without_tags(tuple(item["loc"]), merged)
            if loc[:1] != ("optimizer",) or not problems:
                problems.append(f"{origin(named, loc)}.{_settings_message(item, loc, model, merged)}")
        return None, problems
    problems += [located(p) for p in settings.problems()]
    return (None if problems else settings), problems


def _optimizer_problems(model: type[WorkloadSettings], merged: dict) -> list[str]:
    """The optimizer config checked against Keras's classes, even when other settings are wrong."""
    if "optimizer" not in model.model_fields or "optimizer" not in merged:
        return []
    variables = merged.get("vars") if isinstance(merged.get("vars"), dict) else {}
    training = merged.get("training") if isinstance(merged.get("training"), dict) else {}
    names = set(RUNTIME) | set(variables) | (set(RANGE_RUNTIME) if training.get("range_test") else set())
    return keras_config.problems(merged["optimizer"], "optimizer", "optimizer", names)


def _settings_problems(data: dict) -> list[str]:
    """Validate the settings of every (profile, arm, grid point, tuned value), naming each key's source;
    then check that the metrics the suite names are ones the workload produces."""
    name = _section(data, "workload").get("name")
    try:
        model = WORKLOAD_SETTINGS.get(name)
    except UnknownName as error:
        return [f"workload.name: {error}"]
    base = _section(data, "workload").get("settings") or {}
    profiles, arms = _section(data, "profiles") or {"(none)": {}}, _section(data, "arms") or {"(none)": {}}
    shared = _section(_section(data, "tuning"), "search_space")
    if not all(isinstance(x, dict) for x in [base, *profiles.values(), *arms.values()]):
        return []  # structural errors are reported by the schema
    problems = _redefined(data, shared)
    produced: dict[tuple[str, str], WorkloadSettings] = {}
    for (profile, spec), (arm, arm_spec) in itertools.product(profiles.items(), arms.items()):
        overrides = spec.get("overrides") if isinstance(spec.get("overrides"), dict) else {}
        params = arm_spec.get("params") if isinstance(arm_spec.get("params"), dict) else {}
        own = arm_spec.get("search_space") if isinstance(arm_spec.get("search_space"), dict) else {}
        grid = spec.get("grid") if isinstance(spec.get("grid"), dict) else {}
        points = [{}]
        if grid and all(isinstance(v, list) for v in grid.values()):
            points = [dict(zip(grid, v, strict=True)) for v in itertools.product(*grid.values())]
        samples = [{key: v} for key, param in {**shared, **own}.items() for v in _probes(param)]
        for point, sampled in [(p, {}) for p in points] + [(points[0], s) for s in samples]:
            named = layers(base, profile, overrides, point, arm, params, sampled, shared)
            settings, found = check_settings(model, named)
            problems += found
            if settings is not None and not sampled and point is points[0]:
                produced[profile, arm] = settings
    if problems:
        return list(dict.fromkeys(problems))
    return _metric_problems(data, name, produced)


def _redefined(data: dict, shared: dict) -> list[str]:
    """An arm may add tuned settings, not redefine shared ones."""
    problems = []
    for arm, spec in _section(data, "arms").items():
        own = spec.get("search_space") if isinstance(spec, dict) else None
        for key in own if isinstance(own, dict) else {}:
            if key in shared:
                problems.append(
                    f"arms.{arm}.search_space.{key}: '{key}' is shared (tuning.search_space): "
                    "every arm gets the same range"
                )
    return problems


def _metric_problems(data: dict, workload: str, produced: dict[tuple[str, str], WorkloadSettings]) -> list[str]:
    """The claim, protocols and tuning may only name metrics the workload produces (in every profile and arm)."""
    claim, tuning, derived = _section(data, "claim"), _section(data, "tuning"), _section(data, "derived")
    wanted: list[tuple[str, Any, str]] = [
        (where, metric, "final")
        for where, metric in [("claim.metric", claim.get("metric"))]
        + [
            (f"protocols.{n}.metric", p.get("metric"))
            for n, p in _section(data, "protocols").items()
            if isinstance(p, dict)
        ]
        + [
            (f"comparisons.{i}.metric", c["metric"])
            for i, c in enumerate(data.get("comparisons") or [])
            if isinstance(c, dict) and c.get("metric") is not None
        ]
        + [("ranking", data.get("ranking"))] * (data.get("ranking") is not None)
        + [
            (f"stability.{i}.metric", c["metric"])
            for i, c in enumerate(data.get("stability") or [])
            if isinstance(c, dict) and c.get("metric") is not None
        ]
        if metric not in derived
    ]
    for name, spec in derived.items():
        if isinstance(spec, dict):
            curve = spec.get("curve", TimeToTarget.model_fields["curve"].default)
            wanted.append((f"derived.{name}.curve", curve, "recorded"))
            wanted.append((f"derived.{name}.axis", axis_key(str(curve), spec.get("axis", "updates")), "recorded"))
    if claim.get("metric") in derived:  # confirmation trials report the tuning objective to Optuna
        wanted.append(("tuning.objective", tuning.get("objective", "val_accuracy"), "final"))
    tuned = {p for p, spec in _section(data, "profiles").items() if isinstance(spec, dict) and spec.get("budget")}
    pruner = _section(tuning, "pruner")
    missing: dict[tuple[str, str, str], list[tuple[str, str]]] = {}
    problems = []
    for (profile, arm), settings in produced.items():
        metrics, curves = settings.metrics(), settings.curves()
        problems += [
            f"derived.{name}: '{name}' is already a metric of workload '{workload}'; give yours another name"
            for name in derived
            if name in metrics
        ]
        checks = list(wanted) + [
            (f"checks.{name}.metric", check.get("metric"), "final")
            for name, check in _section(data, "checks").items()
            if isinstance(check, dict) and arm in (check.get("arms") or [arm])
        ]
        if profile in tuned:
            checks.append(("tuning.objective", tuning.get("objective", "val_accuracy"), "validation"))
            if pruner.get("kind", "none") != "none":
                checks.append(("tuning.pruner.monitor", pruner.get("monitor", "val_accuracy"), "curve"))
        for where, metric, kind in checks:
            pool = curves if kind in ("curve", "recorded") else metrics
            if metric not in pool:
                missing.setdefault((where, str(metric), kind), []).append((profile, arm))
            elif kind in ("validation", "curve") and pool[metric] != VALIDATION:
                problems.append(
                    f"{where}: '{metric}' is not a validation metric; tune on one ({_of(pool, VALIDATION)})"
                )
        for name, protocol in _section(data, "protocols").items():
            selected = isinstance(protocol, dict) and metrics.get(protocol.get("metric")) == SELECTS_ON_TEST
            if selected and not protocol.get("selects_on_test"):
                problems.append(
                    f"protocols.{name}.selects_on_test: '{protocol['metric']}' is chosen by looking at the "
                    "test set; say so with selects_on_test: true"
                )
    for (where, metric, kind), places in missing.items():
        profile, arm = places[0]
        settings = produced[profile, arm]
        pool = settings.curves() if kind in ("curve", "recorded") else settings.metrics()
        scope = "" if len(places) == len(produced) else f" in profile '{profile}', arm '{arm}'"
        what = {"curve": "a per-epoch curve", "recorded": "a recorded curve"}.get(kind, "a metric")
        hint = ""
        if metric.startswith(STEP):
            hint = " (step.* curves are recorded with training.eval_every_steps and a validation set)"
        problems.append(
            f"{where}: '{metric}' is not {what} of workload '{workload}'{scope}{did_you_mean(metric, pool)}{hint}; "
            f"it produces: {', '.join(sorted(pool))}"
        )
    return list(dict.fromkeys(problems))


def _of(pool: dict[str, str], kind: str) -> str:
    return ", ".join(sorted(name for name, found in pool.items() if found == kind))


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
    problems += _reference_problems(data) + _speed_problems(data) + _settings_problems(data)
    if problems:
        raise SuiteError(path, list(dict.fromkeys(problems)))
    assert suite is not None
    return suite
