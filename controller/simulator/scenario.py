"""Scenario files: YAML describing the emulator's project, clusters, timed events and faults.

`load_scenario(path)` validates (pydantic) and raises ScenarioError naming the file and field;
`Scenario.build(clock)` turns it into a ready Simulator.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AliasChoices,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)

from controller.clock import Clock
from controller.config_types import parse_duration
from controller.model import WEEKDAYS
from controller.settings import describe_validation_error
from controller.simulator.cloudeye import CloudEyeSpec
from controller.simulator.faults import Fault, validate
from controller.simulator.identity import IdentitySpec
from controller.simulator.smn import SmnSpec
from controller.simulator.world import OUTCOMES, Simulator, SimulatorError, parse_flags

_ID_NAMESPACE = uuid.UUID("5b0c1e55-6f44-4f1e-9d0a-3c5ad1e0a7b2")

Offset = Annotated[dt.timedelta, BeforeValidator(parse_duration)]
Flags = Annotated[set[str], BeforeValidator(parse_flags)]
HHMM = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]


class ScenarioError(Exception):
    """A scenario file that cannot be used; the message names the file and the field."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _one_of(allowed: tuple[str, ...]) -> Any:
    def check(value: object) -> object:
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return value

    return BeforeValidator(check)


class MaintainWindowSpec(_Model):
    day: Annotated[str, _one_of(WEEKDAYS)]
    start_time: HHMM
    end_time: HHMM


class ClusterPatch(_Model):
    """Cluster fields as a scenario sets them; only the fields written in the file are applied."""

    name: str | None = None
    version: str | None = None
    tags: dict[str, str] | None = None
    maintain_window: MaintainWindowSpec | None = None
    status: str | None = None
    flags: Flags | None = Field(None, validation_alias=AliasChoices("flags", "sub_status"))
    task_status: str | None = None
    load: float | None = Field(None, ge=0, le=1)
    number_of_node: int | None = Field(None, ge=1)
    enterprise_project_id: str | None = None
    switchover_base_seconds: float | None = Field(None, gt=0)
    switchover_outcome: Annotated[str, _one_of(OUTCOMES)] | None = None
    created: AwareDatetime | None = None
    updated: AwareDatetime | None = None

    def fields(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class ClusterSpec(ClusterPatch):
    name: str
    id: str | None = None  # default: a UUID derived from the name, stable across runs

    def fields(self) -> dict[str, Any]:
        values = super().fields()
        values["id"] = self.id or str(uuid.uuid5(_ID_NAMESPACE, self.name))
        return values


class _Event(_Model):
    at: Offset
    cluster: str


class UnbalanceEvent(_Event):
    action: Literal["unbalance"]
    flags: list[str] = Field(default_factory=list)

    def apply(self, sim: Simulator) -> None:
        sim.unbalance(self.cluster, *self.flags)


class BalanceEvent(_Event):
    action: Literal["balance"]

    def apply(self, sim: Simulator) -> None:
        sim.balance(self.cluster)


class TaskEvent(_Event):
    action: Literal["task"]
    task: str
    seconds: float | None = Field(None, gt=0)

    def apply(self, sim: Simulator) -> None:
        sim.start_task(self.cluster, self.task, self.seconds)


class ClearTaskEvent(_Event):
    action: Literal["clear_task"]

    def apply(self, sim: Simulator) -> None:
        sim.clear_task(self.cluster)


class ExternalSwitchoverEvent(_Event):
    action: Literal["external_switchover"]

    def apply(self, sim: Simulator) -> None:
        sim.start_external_switchover(self.cluster)


class SetEvent(_Event):
    action: Literal["set"]
    fields: ClusterPatch

    def apply(self, sim: Simulator) -> None:
        sim.set(self.cluster, **self.fields.fields())


Event = Annotated[
    UnbalanceEvent | BalanceEvent | TaskEvent | ClearTaskEvent | ExternalSwitchoverEvent | SetEvent,
    Field(discriminator="action"),
]


class FaultSpec(_Model):
    at: Offset | None = None  # None: pending from the start
    operation: str
    kind: str
    times: int | None = Field(1, ge=1)
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _valid(self) -> FaultSpec:
        validate(self.fault())
        return self

    def fault(self) -> Fault:
        return Fault(self.operation, self.kind, self.times, dict(self.params))

    def inject(self, sim: Simulator) -> None:
        sim.faults.inject(self.operation, self.kind, times=self.times, **self.params)


class Credentials(_Model):
    ak: str = Field("SIMULATORAK0000000000", min_length=1)
    sk: SecretStr = SecretStr("simulator-secret-key-not-for-production")


class IamUser(_Model):
    name: str
    password: SecretStr
    domain: str


class Scenario(_Model):
    project_id: str = Field("0a1b2c3d4e5f60718293a4b5c6d7e8f9", pattern=r"^[A-Za-z0-9_-]+$")
    credentials: Credentials = Field(default_factory=Credentials)
    iam_users: list[IamUser] = Field(default_factory=list)
    start: AwareDatetime | None = None  # None: now
    token_ttl: Offset = dt.timedelta(hours=24)
    clusters: list[ClusterSpec] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=list)
    faults: list[FaultSpec] = Field(default_factory=list)
    identity: IdentitySpec = Field(default_factory=IdentitySpec)
    cloud_eye: CloudEyeSpec = Field(default_factory=CloudEyeSpec)
    smn: SmnSpec = Field(default_factory=SmnSpec)

    @model_validator(mode="after")
    def _known_clusters(self) -> Scenario:
        # checked here, not first in build(): the command line reports it as a bad file (exit 2)
        names: set[str] = set()
        ids: set[str] = set()
        for i, cluster in enumerate(self.clusters):
            cluster_id = cluster.fields()["id"]
            if cluster.name in names or cluster_id in ids:
                raise ValueError(
                    f"clusters.{i}: duplicate cluster name or id {cluster.name!r} / {cluster_id!r}"
                )
            names.add(cluster.name)
            ids.add(cluster_id)
        known = names | ids
        for i, event in enumerate(self.events):
            if event.cluster not in known:
                raise ValueError(f"events.{i}.cluster: no cluster named {event.cluster!r}")
        for key in self.cloud_eye.clusters:
            if key not in known:
                raise ValueError(f"cloud_eye.clusters.{key}: no cluster named {key!r}")
        return self

    def with_overrides(
        self, *, ak: str | None = None, sk: str | None = None, project_id: str | None = None
    ) -> Scenario:
        """This scenario with other credentials or project id (e.g. from the command line)."""
        data = self.model_dump(exclude_unset=True)
        credentials = {
            "ak": ak or self.credentials.ak,
            "sk": sk or self.credentials.sk.get_secret_value(),
        }
        data.update(credentials=credentials, project_id=project_id or self.project_id)
        try:
            return Scenario.model_validate(data)
        except ValidationError as exc:
            raise ScenarioError(f"invalid override:\n{describe_validation_error(exc)}") from None

    def build(self, clock: Clock) -> Simulator:
        """A Simulator in this scenario's starting state; event times count from `clock.now()`."""
        sim = Simulator(
            clock,
            project_id=self.project_id,
            ak=self.credentials.ak,
            sk=self.credentials.sk.get_secret_value(),
            iam_users={u.name: (u.password.get_secret_value(), u.domain) for u in self.iam_users},
            token_ttl=self.token_ttl,
        )
        sim.identity.spec = self.identity
        try:
            for cluster in self.clusters:
                sim.add_cluster(**cluster.fields())
        except SimulatorError as exc:
            raise ScenarioError(str(exc)) from None
        for event in self.events:
            sim.at(event.at, functools.partial(event.apply, sim))
        for spec in self.faults:
            if spec.at is None:
                spec.inject(sim)
            else:
                sim.at(spec.at, functools.partial(spec.inject, sim))
        self._install_cloud_eye(sim)
        self.smn.install(sim.smn)
        for smn_fault in self.smn.faults:
            if smn_fault.at is not None:
                sim.at(smn_fault.at, functools.partial(smn_fault.apply, sim.smn))
        return sim

    def _install_cloud_eye(self, sim: Simulator) -> None:
        ids = {c.fields()["id"]: c.fields()["id"] for c in self.clusters}
        ids |= {c.name: c.fields()["id"] for c in self.clusters}
        self.cloud_eye.install(sim.cloud_eye, ids)
        for fault in self.cloud_eye.faults:
            if fault.at is not None:
                sim.at(fault.at, functools.partial(fault.apply, sim.cloud_eye))


def default_scenario_path() -> Path:
    return Path(str(resources.files("controller.simulator").joinpath("scenarios/default.yaml")))


def load_scenario(path: Path | str) -> Scenario:
    """The scenario in `path`, or ScenarioError naming the file and the problem (a line each)."""
    path = Path(path)
    data = _read_mapping(path)
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        problems = describe_validation_error(exc)
        sep = "\n" if "\n" in problems else " "  # one problem stays on one line
        raise ScenarioError(f"scenario file {path} is invalid:{sep}{problems}") from None


def _read_mapping(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:  # missing, a directory, unreadable
        raise ScenarioError(f"cannot read scenario file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            f"scenario file {path} is not UTF-8 text "
            f"(byte 0x{exc.object[exc.start]:02x} at offset {exc.start})"
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.reader.ReaderError as exc:  # a control character: it has no line mark
        char = exc.character  # its code point, as the text was decoded already
        shown = f"0x{char:02x}" if isinstance(char, int) else repr(char)
        raise ScenarioError(
            f"scenario file {path} is not valid YAML: character {shown} "
            f"is not allowed (offset {exc.position})"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ScenarioError(f"scenario file {path} is not valid YAML{where}") from None
    except ValueError as exc:  # PyYAML builds `2026-13-45` or a +25:00 offset with datetime
        raise ScenarioError(
            f"scenario file {path} holds an impossible date or time: {exc}"
        ) from None
    except RecursionError:  # PyYAML composes nested collections recursively
        raise ScenarioError(f"scenario file {path} is nested too deeply") from None
    if data is None:
        raise ScenarioError(f"scenario file {path} is empty")
    if not isinstance(data, dict):
        raise ScenarioError(f"scenario file {path} must hold a mapping, not {type(data).__name__}")
    if bad := [key for key in data if not isinstance(key, str)]:
        raise ScenarioError(f"scenario file {path}: keys must be names, not {bad[0]!r}")
    return data
