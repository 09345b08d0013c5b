"""Suite files: YAML → a validated :class:`Suite`, with every mistake reported at once."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, Field, PositiveInt, ValidationError, model_validator

from harness.registry import WORKLOAD_SETTINGS, UnknownName, did_you_mean


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


class Workload(_Strict):
    name: str
    settings: dict[str, Any] = {}


class Arm(_Strict):
    description: str
    params: dict[str, Any] = {}


class Profile(_Strict):
    description: str
    seeds: PositiveInt
    jobs: PositiveInt = 1
    cost: str = Field("", description="measured cost, shown by `harness ls` and the README")
    overrides: dict[str, Any] = {}
    changes_protocol: str = Field(
        "", description="how this profile departs from the claim's protocol (said in the report)"
    )


class Suite(_Strict):
    name: str
    title: str
    claim: Claim
    workload: Workload
    arms: dict[str, Arm] = Field(min_length=2)
    profiles: dict[str, Profile] = Field(min_length=1)
    default_profile: str
    root_seed: int = Field(ge=0)

    path: Path | None = Field(None, exclude=True)
    digest: str = Field("", exclude=True)

    @model_validator(mode="after")
    def _references(self) -> Suite:
        problems = []
        for where, ref in (("claim.baseline.arm", self.claim.baseline.arm),
                           ("claim.treatment.arm", self.claim.treatment.arm)):
            if ref not in self.arms:
                problems.append(f"{where}: unknown arm '{ref}'{did_you_mean(ref, self.arms)}")
        if self.default_profile not in self.profiles:
            problems.append(
                f"default_profile: unknown profile '{self.default_profile}'"
                f"{did_you_mean(self.default_profile, self.profiles)}"
            )
        if self.claim.baseline.arm == self.claim.treatment.arm:
            problems.append("claim.treatment.arm: must differ from claim.baseline.arm")
        if self.claim.claimed_effect <= 0:
            problems.append(
                "claim: the reported treatment is not better than the reported baseline "
                f"({self.claim.treatment.reported} vs {self.claim.baseline.reported}, "
                f"higher_is_better={self.claim.higher_is_better})"
            )
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def settings(self, profile: str, arm: str) -> BaseModel:
        """The workload settings of one (profile, arm): suite < profile overrides < arm params."""
        merged = {**self.workload.settings, **self.profiles[profile].overrides, **self.arms[arm].params}
        return WORKLOAD_SETTINGS.get(self.workload.name)(**merged)

    def profile(self, name: str | None) -> tuple[str, Profile]:
        name = name or self.default_profile
        if name not in self.profiles:
            raise SuiteError(self.path or self.name, [
                f"profiles: unknown profile '{name}'{did_you_mean(name, self.profiles)}; "
                f"known: {', '.join(self.profiles)}"
            ])
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
            path, [f"no suite named '{name_or_path}'{did_you_mean(name_or_path, known)}; "
                   f"known: {', '.join(known) or 'none'} (in {suites_dir()})"]
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
    arms = {k: (v or {}).get("params") or {} for k, v in (data.get("arms") or {}).items()}
    if not all(isinstance(x, dict) for x in [base, *profiles.values(), *arms.values()]):
        return []  # structural errors are reported by the schema
    problems: list[str] = []
    for profile, overrides in (profiles or {"(none)": {}}).items():
        for arm, params in (arms or {"(none)": {}}).items():
            try:
                settings_model(**{**base, **overrides, **params})
            except ValidationError as error:
                for item in error.errors():
                    key = item["loc"][0] if item["loc"] else None
                    if key in params:
                        where = ("arms", arm, "params")
                    elif key in overrides:
                        where = ("profiles", profile, "overrides")
                    else:
                        where = ("workload", "settings")
                    fields = list(settings_model.model_fields)
                    problems.append(_describe({**item, "loc": (*where, *item["loc"])}, lambda _: fields))
    return list(dict.fromkeys(problems))


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
        for item in error.errors():
            if item["type"] == "value_error" and not item["loc"]:
                problems.extend(item["msg"].removeprefix("Value error, ").split("\n"))
            else:
                problems.append(_describe(item, _fields_of))
    problems.extend(_settings_problems(data))
    if problems:
        raise SuiteError(path, list(dict.fromkeys(problems)))
    assert suite is not None
    return suite
