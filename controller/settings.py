"""Configuration: a YAML file plus DWS_REBALANCER_* environment variables, validated once at start-up.

Environment overrides the file. Every key here is a public contract (the chart and the docs use it).
"""

from __future__ import annotations

import contextvars
import datetime as dt
import fnmatch
import json
import os
import re
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Self, get_args
from zoneinfo import ZoneInfo

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)
from pydantic_settings.sources.utils import parse_env_vars

from controller.config_types import (
    AwareDatetime,
    NonNegativeDuration,
    PositiveDuration,
    TimeOfDay,
    Weekday,
    Zone,
    format_duration,
    parse_listen,
)
from controller.model import WEEKDAYS, Version

ENV_PREFIX = "DWS_REBALANCER_"
CONFIG_ENV = "DWS_REBALANCER_CONFIG"
#: Shortest intervals accepted. The demo's (60s, 5s) are virtual seconds: they pass, and its
#: accelerated clock shortens them in real time on purpose, against its own emulator only.
MIN_INTERVALS = {
    "poll_interval": dt.timedelta(seconds=1),
    "tracking_interval": dt.timedelta(milliseconds=500),
}


class ConfigError(Exception):
    """Bad configuration: the message names the field and the problem (never a secret's value)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Window(_Strict):
    """An off-peak window: on `days`, from `start` to `end` local time. end <= start crosses midnight."""

    days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS), min_length=1)
    start: TimeOfDay
    end: TimeOfDay
    timezone: Zone = Field(default_factory=lambda: ZoneInfo("UTC"))


class Blackout(_Strict):
    """A period when nothing runs (release freeze, year-end close)."""

    start: AwareDatetime
    end: AwareDatetime
    reason: str = "blackout"

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end <= self.start:
            raise ValueError("blackout end must be after its start")
        return self


#: Floors for the probe: it runs against a production database every `interval`.
PROBE_MIN_INTERVAL = dt.timedelta(milliseconds=500)
PROBE_MIN_TIMEOUT = dt.timedelta(milliseconds=100)


class ProbeSettings(_Strict):
    """The data-plane probe: TCP connect and `SELECT 1` on the cluster's SQL endpoint around a switchover.

    `host`/`port` default to the private endpoint in the cluster's detail answer. The password
    comes from `password` or `password_file` (a mounted Secret, read when a probe starts).
    """

    enabled: bool = False
    host: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    database: str = Field(default="gaussdb", min_length=1)
    user: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    interval: PositiveDuration = dt.timedelta(seconds=1)
    tail: NonNegativeDuration = dt.timedelta(seconds=30)
    connect_timeout: PositiveDuration = dt.timedelta(seconds=2)
    statement_timeout: PositiveDuration = dt.timedelta(seconds=2)

    @field_validator("host")
    @classmethod
    def _host(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or any(c.isspace() for c in value.strip())):
            raise ValueError("a host name or address without spaces")
        return None if value is None else value.strip()

    @field_validator("interval")
    @classmethod
    def _interval(cls, value: dt.timedelta) -> dt.timedelta:
        if value < PROBE_MIN_INTERVAL:
            raise ValueError(f"must be at least {format_duration(PROBE_MIN_INTERVAL)}")
        return value

    @field_validator("connect_timeout", "statement_timeout")
    @classmethod
    def _timeout(cls, value: dt.timedelta) -> dt.timedelta:
        if value < PROBE_MIN_TIMEOUT:
            raise ValueError(f"must be at least {format_duration(PROBE_MIN_TIMEOUT)}")
        return value

    @model_validator(mode="after")
    def _credentials(self) -> Self:
        if self.password is not None and self.password_file is not None:
            raise ValueError("set probe.password or probe.password_file, not both")
        if self.enabled and not self.user:
            raise ValueError("an enabled probe needs probe.user")
        if self.enabled and self.password is None and self.password_file is None:
            raise ValueError("an enabled probe needs probe.password or probe.password_file")
        return self

    def secret_values(self) -> list[str]:
        """What log lines must mask: the inline password (a file's is registered when read)."""
        value = self.password.get_secret_value() if self.password is not None else ""
        return [value] if value else []


#: The SYS.DWS metrics the load gate may limit: (dimension, raw period). Cluster metrics are
#: keyed by `datastore_id` (the cluster id), node metrics by `dws_instance_id` (a node id).
CLOUD_EYE_METRICS: dict[str, tuple[str, dt.timedelta]] = {
    **{
        name: ("datastore_id", dt.timedelta(minutes=4))
        for name in (
            "dws001_shared_buffer_hit_ratio",
            "dws005_physical_reads_per_second",
            "dws006_physical_writes_per_second",
            "dws008_active_sql_count",
            "dws009_session_count",
        )
    },
    **{
        name: ("dws_instance_id", dt.timedelta(minutes=1))
        for name in (
            "dws010_cpu_usage",
            "dws011_mem_usage",
            "dws012_iops",
            "dws013_bytes_in",
            "dws014_bytes_out",
            "dws018_disk_read_throughput",
            "dws019_disk_write_throughput",
            "dws020_avg_disk_sec_per_read",
            "dws021_avg_disk_sec_per_write",
            "dws022_avg_disk_queue_length",
        )
    },
}
#: The shortest lookback: a cluster metric has one raw point every 4 minutes.
LOAD_MIN_LOOKBACK = dt.timedelta(minutes=5)
#: The batch cap of the clouds documented so far (10 in one, 500 in another).
CLOUD_EYE_MAX_BATCH = 500


def _http_url(value: str | None) -> str | None:
    if value is not None and not re.fullmatch(r"https?://[^\s/]+(:\d+)?/?", value.strip()):
        raise ValueError(f"an http(s) URL with a host and no path, not {value!r}")
    return None if value is None else value.strip().rstrip("/")


class CloudEyeSettings(_Strict):
    """The Cloud Eye (CES) load gate: every limit must hold over the lookback."""

    endpoint: str | None = None  # default https://ces.{region}.myhuaweicloud.com
    limits: dict[str, float] = Field(default_factory=dict)
    lookback: PositiveDuration = dt.timedelta(minutes=15)
    filter: Literal["average", "max", "min", "sum", "variance"] = "max"
    max_metrics_per_call: int = Field(default=10, ge=1, le=CLOUD_EYE_MAX_BATCH)

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        return _http_url(value)

    @field_validator("limits")
    @classmethod
    def _limits(cls, value: dict[str, float]) -> dict[str, float]:
        for name, limit in value.items():
            if name not in CLOUD_EYE_METRICS:
                raise ValueError(
                    f"unknown SYS.DWS metric {name!r} (one of {', '.join(CLOUD_EYE_METRICS)})"
                )
            if not 0 <= limit < float("inf"):
                raise ValueError(f"the limit of {name} must be a finite number >= 0, not {limit}")
        return value

    @field_validator("lookback")
    @classmethod
    def _lookback(cls, value: dt.timedelta) -> dt.timedelta:
        if value < LOAD_MIN_LOOKBACK:
            raise ValueError(f"must be at least {format_duration(LOAD_MIN_LOOKBACK)}")
        return value


class PrometheusSettings(_Strict):
    """PromQL blockers: any query returning a non-empty vector blocks."""

    url: str | None = None
    blockers: list[str] = Field(default_factory=list)
    timeout: PositiveDuration = dt.timedelta(seconds=10)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        # Prometheus often sits behind a path prefix (an ingress): a path is allowed here.
        if value is not None and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value.strip()):
            raise ValueError(f"an http(s) URL, not {value!r}")
        return None if value is None else value.strip().rstrip("/")

    @field_validator("blockers")
    @classmethod
    def _blockers(cls, value: list[str]) -> list[str]:
        if any(not query.strip() for query in value):
            raise ValueError("a blocker must be a PromQL query, not empty")
        return value

    @model_validator(mode="after")
    def _url_for_blockers(self) -> Self:
        if self.blockers and self.url is None:
            raise ValueError("prometheus.blockers need prometheus.url")
        return self


class LoadSettings(_Strict):
    """The load gates: Cloud Eye limits, PromQL blockers, and how the switchover hour is chosen."""

    cloud_eye: CloudEyeSettings = Field(default_factory=CloudEyeSettings)
    prometheus: PrometheusSettings = Field(default_factory=PrometheusSettings)
    schedule: Literal["window", "quietest"] = "window"

    @model_validator(mode="after")
    def _profile_metrics(self) -> Self:
        if self.schedule == "quietest" and not self.cloud_eye.limits:
            raise ValueError(
                "schedule: quietest builds its profile from cloud_eye.limits: set at least one"
            )
        return self


class Policy(_Strict):
    """When a switchover may run. Overrides replace individual fields per cluster."""

    min_version: str = "8.1.1.202"
    min_unbalanced_duration: NonNegativeDuration = dt.timedelta(minutes=10)
    cooldown: NonNegativeDuration = dt.timedelta(hours=6)
    windows: list[Window] = Field(
        default_factory=lambda: [
            Window(
                days=["Mon", "Tue", "Wed", "Thu", "Fri"],
                start=dt.time(1),
                end=dt.time(5),
                timezone=ZoneInfo("Asia/Shanghai"),
            )
        ]
    )
    use_maintenance_window: bool = True
    blackouts: list[Blackout] = Field(default_factory=list)
    max_per_day: int = Field(default=1, ge=0)
    max_concurrent: int = Field(default=1, ge=1)
    failure_limit: int = Field(default=3, ge=1)
    allow_degraded: bool = False
    allow_readonly: bool = False
    probe: ProbeSettings = Field(default_factory=ProbeSettings)
    load: LoadSettings = Field(default_factory=LoadSettings)
    #: auto: act when the guards allow; announce: a `planned` notification `announce_lead`
    #: before the slot, then act unless vetoed; manual: act only once approved.
    approval: Literal["auto", "announce", "manual"] = "auto"
    announce_lead: PositiveDuration = dt.timedelta(hours=1)

    @field_validator("min_version")
    @classmethod
    def _version(cls, value: str) -> str:
        Version.parse(value)
        return value

    @property
    def min_version_parsed(self) -> Version:
        return Version.parse(self.min_version)


class SmnTarget(_Strict):
    """A Huawei Cloud SMN topic to publish to (endpoint: `https://smn.{region}.myhuaweicloud.com`)."""

    topic_urn: str = Field(min_length=1)
    endpoint: str | None = None


#: Every event a channel may subscribe to.
NotifyEvent = Literal[
    "planned",
    "started",
    "succeeded",
    "failed",
    "timed_out",
    "breaker_opened",
    "stuck",
    "permission_denied",
    "unhealthy",
]
NOTIFY_EVENTS: tuple[NotifyEvent, ...] = get_args(NotifyEvent)


class NotifyChannel(_Strict):
    """One channel: an Apprise URL (inline, or by reference to an env var or a file) or an SMN topic."""

    url: SecretStr | None = None
    url_env: str | None = None
    url_file: Path | None = None
    smn: SmnTarget | None = None
    events: list[NotifyEvent] = Field(default_factory=lambda: list(NOTIFY_EVENTS))

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        given = [k for k in ("url", "url_env", "url_file", "smn") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "set exactly one of url, url_env, url_file or smn"
                + (f", not {' and '.join(given)}" if given else "")
            )
        return self

    def inline_url(self) -> str | None:
        """The URL given inline or by environment variable (a file's is read when delivering)."""
        if self.url is not None:
            return self.url.get_secret_value().strip()
        if self.url_env is not None:
            environ = _ENVIRON.get()
            return (os.environ if environ is None else environ).get(self.url_env, "").strip()
        return None


class NotifySettings(_Strict):
    """Who hears about what the controller does, in which language, and when a cluster is stuck."""

    channels: list[NotifyChannel] = Field(default_factory=list)
    language: Literal["en", "zh"] = "en"
    dashboard_url: str | None = None
    stuck_after: PositiveDuration = dt.timedelta(days=3)

    @field_validator("dashboard_url")
    @classmethod
    def _dashboard(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value.strip()):
            raise ValueError(f"an http(s) URL, not {value!r}")
        return None if value is None else value.strip()

    @model_validator(mode="after")
    def _urls_parse(self) -> Self:
        for index, channel in enumerate(self.channels):
            url = channel.inline_url()  # an unset variable is the controller's error, at start
            if url and not apprise_understands(url):
                raise ValueError(
                    f"channels.{index}: Apprise cannot parse this {url_scheme(url)}:// URL"
                    " (the URL itself is not shown: it may hold a token)"
                )
        return self

    def secret_values(self) -> list[str]:
        """What log lines must mask: every inline or environment URL and its token-like parts
        (a file's URL is masked when read)."""
        return [s for c in self.channels if (url := c.inline_url()) for s in url_secrets(url)]


#: URL parts that look like tokens: long enough and holding a digit (hostnames and plain words
#: such as `hooks` or `notifications` stay readable in other log lines).
_TOKEN_PART_RE = re.compile(r"(?=.*\d)[^\s/]{8,}")


def url_secrets(url: str) -> list[str]:
    """The URL and the parts of it a log line could show alone: its password, and every host,
    user, path segment or query value that looks like a token (DingTalk's access token is the
    "host" of `dingtalk://TOKEN/`, Slack's tokens are path segments)."""
    parts = urllib.parse.urlsplit(url)
    found = [url, parts.password or ""]
    pieces = [parts.username or "", *parts.path.split("/")]
    pieces += [v for _, v in urllib.parse.parse_qsl(parts.query)]
    host = parts.netloc.rpartition("@")[2].rsplit(":", 1)[0]
    if "." not in host:  # not a host name or an IPv4 address: a token in the host's place
        pieces.append(host)
    found += [p for p in pieces if _TOKEN_PART_RE.fullmatch(p) and not p.isdigit()]
    return [value for value in dict.fromkeys(found) if value]


def url_scheme(url: str) -> str:
    """The scheme of a notification URL, lower-case; `?` when there is none (never the rest)."""
    scheme, sep, _ = url.partition("://")
    return scheme.lower() if sep and re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme) else "?"


def apprise_understands(url: str) -> bool:
    """True when Apprise has a plugin for the URL and the plugin accepts it."""
    import apprise  # its plugins load in a second or two: only when a URL is set

    return apprise.Apprise.instantiate(url, suppress_exceptions=True) is not None


class ApprovalApi(_Strict):
    """`POST /approve/{cluster}` and `/veto/{cluster}` on the controller's port, behind a bearer token."""

    enabled: bool = False
    token: SecretStr | None = None
    token_file: Path | None = None

    @model_validator(mode="after")
    def _one_token(self) -> Self:
        # Fail at start, not at the first POST: an enabled API without a token would answer 401
        # to everyone, and two tokens would leave a guess which one counts.
        if self.token is not None and self.token_file is not None:
            raise ValueError("set approval_api.token or approval_api.token_file, not both")
        if self.enabled and not _set(self.token) and self.token_file is None:
            raise ValueError("approval_api.enabled needs approval_api.token or token_file")
        return self


class OptOutTag(_Strict):
    key: str = "dws-rebalancer"
    value: str = "disabled"


class ClusterSelection(_Strict):
    """Which clusters the controller may touch: ids, names or shell-style patterns."""

    include: list[str] = Field(default_factory=lambda: ["*"])
    exclude: list[str] = Field(default_factory=list)
    opt_out_tag: OptOutTag | None = Field(default_factory=OptOutTag)


class EffectivePolicy(Policy):
    """The policy one cluster is judged by: base policy + first matching override + selection."""

    selection: ClusterSelection = Field(default_factory=ClusterSelection)
    #: The controller-wide cap on in-flight switchovers (`max_concurrent_total`), if any.
    max_concurrent_total: int | None = None


class Override(_Strict):
    match: str | list[str]
    policy: dict[str, Any]

    @property
    def patterns(self) -> list[str]:
        return [self.match] if isinstance(self.match, str) else list(self.match)


#: Methods whose credentials come from auth.* keys; the others find theirs at run time.
_KEYED_METHODS = {"aksk": "AK/SK", "token": "token", "password": "username/password"}
DEFAULT_METADATA_ENDPOINT = "http://169.254.169.254"


class Auth(_Strict):
    """Credentials: how the controller authenticates (`method`) and the keys that method reads.

    Static: AK/SK (optionally temporary, with a security token), an IAM token, or an IAM
    username/password/domain exchanged for a token, each inline or as a file re-read when it
    changes. Or from the environment in the vendor SDK's names, the ECS metadata service (node
    agency), OIDC workload identity federation, or CCE pod identity.
    """

    method: Literal[
        "auto", "aksk", "token", "password", "env", "metadata", "oidc", "pod_identity"
    ] = "auto"
    ak: str | None = None
    ak_file: Path | None = None
    sk: SecretStr | None = None
    sk_file: Path | None = None
    security_token: SecretStr | None = None
    security_token_file: Path | None = None
    token: SecretStr | None = None
    token_file: Path | None = None
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    domain: str | None = None
    iam_endpoint: str | None = None  # default HUAWEICLOUD_SDK_IAM_ENDPOINT, else by region
    metadata_endpoint: str = DEFAULT_METADATA_ENDPOINT
    idp_id: str | None = None  # default HUAWEICLOUD_SDK_IDP_ID
    id_token_file: Path | None = None  # default HUAWEICLOUD_SDK_ID_TOKEN_FILE

    def secret_values(self) -> list[str]:
        """What every log line masks: the secrets, and the AK too (it identifies the account).

        Secrets read from files, or obtained at run time, are registered when they are read.
        """
        secrets = [self.sk, self.security_token, self.token, self.password]
        values = [s.get_secret_value() for s in secrets if s is not None and s.get_secret_value()]
        return [*values, *([self.ak] if self.ak else [])]

    @field_validator("method", mode="before")
    @classmethod
    def _method_lower(cls, value: object) -> object:
        return value.lower().replace("-", "_") if isinstance(value, str) else value

    @field_validator("iam_endpoint", "metadata_endpoint")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https?://[^\s/]+/?", value.strip()):
            raise ValueError(f"an http(s) URL with a host and no path, not {value!r}")
        return None if value is None else value.strip().rstrip("/")

    @model_validator(mode="after")
    def _one_method(self) -> Self:
        keyed = self._keyed_methods()
        if len(keyed) > 1:
            labels = ", ".join(_KEYED_METHODS.get(m, m) for m in keyed)
            raise ValueError(f"more than one authentication method configured: {labels}")
        named = keyed[0] if keyed else None
        if self.method == "auto":
            if named is not None:  # explicit keys win: auto means that method
                object.__setattr__(self, "method", named)
        elif self.method in _KEYED_METHODS and named is None:
            raise ValueError(f"auth.method {self.method} needs {_NEEDS[self.method]}")
        elif named is not None and named != self.method:
            raise ValueError(
                f"auth.method is {self.method}, but keys of method {named} are set too"
            )
        return self

    def _keyed_methods(self) -> list[str]:
        """The methods whose auth.* keys are set, each checked for completeness."""
        _one_of(self, "ak", "sk", "security_token", "token", "password")
        methods = []
        if self.ak or self.ak_file or self.sk or self.sk_file:
            if not ((self.ak or self.ak_file) and (_set(self.sk) or self.sk_file)):
                raise ValueError("AK/SK authentication needs both auth.ak and auth.sk")
            methods.append("aksk")
        if (self.security_token or self.security_token_file) and "aksk" not in methods:
            raise ValueError("auth.security_token only goes with temporary auth.ak/auth.sk")
        if _set(self.token) or self.token_file:
            methods.append("token")
        if self.username or self.password or self.password_file:
            if not (self.username and (self.password or self.password_file) and self.domain):
                raise ValueError(
                    "password authentication needs auth.username, auth.password and auth.domain"
                )
            methods.append("password")
        if (self.idp_id or self.id_token_file) and self.method not in ("auto", "oidc"):
            raise ValueError("auth.idp_id and auth.id_token_file only go with auth.method oidc")
        if self.idp_id and self.id_token_file:
            methods.append("oidc")
        return methods


_NEEDS = {
    "aksk": "auth.ak (or auth.ak_file) and auth.sk (or auth.sk_file)",
    "token": "auth.token (or auth.token_file)",
    "password": "auth.username, auth.password (or auth.password_file) and auth.domain",
}


def _set(value: SecretStr | None) -> bool:
    return value is not None and bool(value.get_secret_value())


def _one_of(auth: Auth, *names: str) -> None:
    """A secret comes inline or from a file, never both (which would win is a guess)."""
    for name in names:
        if getattr(auth, name) is not None and getattr(auth, f"{name}_file") is not None:
            raise ValueError(f"set auth.{name} or auth.{name}_file, not both")


#: The environment `load_settings` was given; None means the process environment.
_ENVIRON: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar(
    "dws_rebalancer_environ", default=None
)


class _EnvironSource(EnvSettingsSource):
    """Reads DWS_REBALANCER_* from the mapping given to load_settings (os.environ by default)."""

    _bad_json: tuple[str, ValueError] | None = None

    def _load_env_vars(self) -> Mapping[str, str | None]:
        environ = _ENVIRON.get()
        if environ is None:
            return super()._load_env_vars()
        return parse_env_vars(
            environ, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str
        )

    def decode_complex_value(self, field_name: str, field: FieldInfo, value: Any) -> Any:
        # pydantic-settings reports a JSON error as "error parsing value for field 'policy'",
        # which hides the variable; remember which one it was (some failures are tolerated and
        # the value kept as text, so only the failure that aborts the load is reported).
        try:
            return super().decode_complex_value(field_name, field, value)
        except ValueError as exc:
            key = field_name.lower()
            names = sorted(n for n, v in self.env_vars.items() if v == value and n.endswith(key))
            self._bad_json = ((names[0] if names else ENV_PREFIX + key).upper(), exc)
            raise

    def __call__(self) -> dict[str, Any]:
        self._bad_json = None
        try:
            return super().__call__()
        except SettingsError as exc:
            if self._bad_json is None:
                raise ConfigError(f"environment variables {ENV_PREFIX}*: {exc}") from None
            name, error = self._bad_json
            # the value itself stays out of the message: it may hold a secret (DWS_REBALANCER_AUTH)
            where = (
                f" ({error.msg} at character {error.pos + 1})"
                if isinstance(error, json.JSONDecodeError)
                else ""
            )
            raise ConfigError(f"environment variable {name} is not valid JSON{where}") from None


#: A target's name: a metric label value and a journal key, so short and plain.
TARGET_NAME = r"[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?"
#: The name of the one target a configuration without `targets:` has.
IMPLICIT_TARGET = "default"


class TargetSettings(_Strict):
    """One project in one region. Unset keys take the top-level value (`policy` merges key by
    key, as an override does; `overrides` come before the top-level ones)."""

    name: str = Field(pattern=f"^{TARGET_NAME}$")
    region: str | None = None
    endpoint: str | None = None  # default: the top-level one, else the region's DWS endpoint

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https?://[^\s/]+(:\d+)?/?", value.strip()):
            raise ValueError(f"an http(s) URL with a host and no path, not {value!r}")
        return None if value is None else value.strip().rstrip("/")

    project_id: str | None = Field(default=None, min_length=1)
    enterprise_project_id: str | None = None
    auth: Auth | None = None
    policy: dict[str, Any] = Field(default_factory=dict)
    overrides: list[Override] = Field(default_factory=list)
    clusters: ClusterSelection | None = None


class ShardSettings(_Strict):
    """Replicas of a StatefulSet share the targets: each owns those whose stable hash modulo
    `replicas` is its ordinal (by default the number ending `$POD_NAME`, e.g. `...-2`)."""

    replicas: int = Field(default=1, ge=1)
    ordinal: int | None = Field(default=None, ge=0)
    #: A target newly owned (after a resharding) waits at least this long, and one cooldown:
    #: longer than any rollout, during which its old owner may still be running.
    handover_caution: PositiveDuration = dt.timedelta(hours=1)

    @model_validator(mode="after")
    def _ordinal_in_range(self) -> Self:
        if self.ordinal is not None and self.ordinal >= self.replicas:
            raise ValueError(f"ordinal {self.ordinal} is not below replicas {self.replicas}")
        return self


class Settings(BaseSettings):
    """The whole configuration."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        case_sensitive=False,
    )

    endpoint: str = ""  # default: the region's, https://dws.{region}.myhuaweicloud.com
    project_id: str = ""  # required unless every target names its own
    region: str = "cn-north-4"
    enterprise_project_id: str | None = None
    auth: Auth = Field(default_factory=Auth)  # auto: the vendor SDK's sources when empty
    poll_interval: PositiveDuration = dt.timedelta(seconds=60)
    tracking_interval: PositiveDuration = dt.timedelta(seconds=5)
    switchover_timeout: PositiveDuration = dt.timedelta(minutes=30)
    request_timeout: PositiveDuration = dt.timedelta(seconds=10)
    dry_run: bool = False
    paused: bool = False
    journal_path: Path = Path("./dws-rebalancer.db")
    decision_retention: PositiveDuration = dt.timedelta(days=30)
    listen: str = "0.0.0.0:9108"  # a metrics endpoint in a pod listens on all interfaces
    log_format: Literal["json", "console", "auto"] = "auto"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    clusters: ClusterSelection = Field(default_factory=ClusterSelection)
    policy: Policy = Field(default_factory=Policy)
    overrides: list[Override] = Field(default_factory=list)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    approval_api: ApprovalApi = Field(default_factory=ApprovalApi)
    #: Several projects and regions in one controller; empty: the top level is the one target.
    targets: list[TargetSettings] = Field(default_factory=list)
    #: How many targets run their cycle at the same time, at most.
    max_concurrent_targets: int = Field(default=16, ge=1)
    #: In-flight switchovers across every target, at most (each target has `max_concurrent`).
    max_concurrent_total: int | None = Field(default=None, ge=1)
    sharding: ShardSettings = Field(default_factory=ShardSettings)
    #: Effective policies by override index (None: no override), built on first use.
    _effective: dict[int | None, EffectivePolicy] = PrivateAttr(default_factory=dict)
    #: This target's name: set on each target's own settings (`controller.targets`), not a key.
    _target: str = PrivateAttr(default=IMPLICIT_TARGET)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The YAML file arrives as init kwargs; the environment must win over it.
        return (_EnvironSource(settings_cls), init_settings)

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        if not value:
            return value  # filled in from the region by `_where`
        if not re.fullmatch(r"https?://[^\s/]+(:\d+)?/?", value.strip()):
            raise ValueError(f"an http(s) URL with a host and no path, not {value!r}")
        return value.strip().rstrip("/")

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        parse_listen(value)
        return value

    @field_validator("poll_interval", "tracking_interval")
    @classmethod
    def _not_too_often(cls, value: dt.timedelta, info: ValidationInfo) -> dt.timedelta:
        # Every poll is a list call and every tracking round a get per cluster, against an API
        # that throttles the whole account: a typo like 0.01 must not become 100 calls a second.
        minimum = MIN_INTERVALS[str(info.field_name)]
        if value < minimum:
            raise ValueError(
                f"must be at least {format_duration(minimum)}, not {format_duration(value)}"
            )
        return value

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _where(self) -> Self:
        if not self.endpoint:
            object.__setattr__(self, "endpoint", f"https://dws.{self.region}.myhuaweicloud.com")
        if not self.targets and not self.project_id:
            raise ValueError("project_id is required (the project to act on), or list `targets`")
        missing = [t.name for t in self.targets if not (t.project_id or self.project_id)]
        if missing:
            raise ValueError(f"targets {', '.join(missing)}: no project_id (theirs or top-level)")
        names = [t.name for t in self.targets]
        if len(set(names)) != len(names):
            raise ValueError("targets: two targets have the same name")
        return self

    @model_validator(mode="after")
    def _overrides_valid(self) -> Self:
        for index, override in enumerate(self.overrides):
            try:
                self._merge(override)
            except ValidationError as exc:
                raise ValueError(f"overrides.{index}.policy.{_first_error(exc)}") from None
        return self

    @model_validator(mode="after")
    def _targets_valid(self) -> Self:
        """Each target's policy, and each of its overrides onto it, checked now, not mid-cycle."""
        for index, target in enumerate(self.targets):
            try:
                own = self._merge(Override(match="*", policy=target.policy))
            except ValidationError as exc:
                raise ValueError(f"targets.{index}.policy.{_first_error(exc)}") from None
            overrides = [
                *((f"targets.{index}.overrides.{n}", o) for n, o in enumerate(target.overrides)),
                *(
                    (f"overrides.{n} (for target {target.name})", o)
                    for n, o in enumerate(self.overrides)
                ),
            ]
            for where, override in overrides:
                try:
                    _merged(own, override)
                except ValidationError as exc:
                    raise ValueError(f"{where}.policy.{_first_error(exc)}") from None
        return self

    def merged_policy(self, override: Override) -> Policy:
        """The base policy with `override`'s keys in place (a target's policy, an override's)."""
        return self._merge(override)

    def _merge(self, override: Override) -> Policy:
        return _merged(self.policy, override)

    def secret_values(self) -> list[str]:
        """Every secret the configuration holds, for the log masking: the credentials (every
        target's too), the notification URLs' tokens."""
        targets = [v for t in self.targets if t.auth is not None for v in t.auth.secret_values()]
        return [*self.auth.secret_values(), *self.notify.secret_values(), *targets]

    @property
    def target(self) -> str:
        """The target these settings are for (`default` without `targets:`)."""
        return self._target

    @property
    def listen_host(self) -> str:
        return self.listen.rpartition(":")[0] or "0.0.0.0"  # noqa: S104

    @property
    def listen_port(self) -> int:
        return int(self.listen.rpartition(":")[2])

    @property
    def iam_endpoint(self) -> str:
        return (self.auth.iam_endpoint or f"https://iam.{self.region}.myhuaweicloud.com").rstrip(
            "/"
        )

    def cloud_eye_endpoint(self, load: LoadSettings) -> str:
        """The CES endpoint of a load policy; by default the region's."""
        return load.cloud_eye.endpoint or f"https://ces.{self.region}.myhuaweicloud.com"

    def policies(self) -> list[EffectivePolicy]:
        """Every policy a cluster can be judged by: the base one and each override's."""
        return [self._effective_policy(i) for i in (None, *range(len(self.overrides)))]

    def policy_for(self, cluster_id: str, cluster_name: str) -> EffectivePolicy:
        """The base policy with the first matching override applied, plus the cluster selection.

        Clusters under the same override share one policy object, built once: the guards then
        work out what depends on the policy alone (its windows) once per policy, not per cluster.
        """
        index = next(
            (
                i
                for i, override in enumerate(self.overrides)
                if matches_any(override.patterns, cluster_id, cluster_name)
            ),
            None,
        )
        return self._effective_policy(index)

    def _effective_policy(self, index: int | None) -> EffectivePolicy:
        if index not in self._effective:
            policy = self.policy if index is None else self._merge(self.overrides[index])
            self._effective[index] = EffectivePolicy(
                **dict(policy),
                selection=self.clusters,
                max_concurrent_total=self.max_concurrent_total,
            )
        return self._effective[index]


def _merged(policy: Policy, override: Override) -> Policy:
    """`policy` with the override's keys in place."""
    base = policy.model_dump()
    merged = {**base, **override.policy}
    if isinstance(override.policy.get("probe"), Mapping):
        # probe keys merge one by one: `probe: {host: ...}` keeps the base user and password
        merged["probe"] = {**base["probe"], **override.policy["probe"]}
    if isinstance(override.policy.get("load"), Mapping):
        merged["load"] = _merge_load(base["load"], override.policy["load"])
    return Policy.model_validate(merged)


def _merge_load(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`load: {cloud_eye: {limits: ...}}` replaces the limits and keeps the base endpoint."""
    merged = {**base, **override}
    for part in ("cloud_eye", "prometheus"):
        if isinstance(override.get(part), Mapping):
            merged[part] = {**base[part], **override[part]}
    return merged


def matches_any(patterns: list[str], cluster_id: str, cluster_name: str) -> bool:
    """True when any pattern equals or shell-matches the cluster's id or name."""
    return any(
        fnmatch.fnmatchcase(cluster_id, p) or fnmatch.fnmatchcase(cluster_name, p) for p in patterns
    )


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    msg = err["msg"].removeprefix("Value error, ")
    return f"{loc}: {msg}" if loc else msg


def describe_validation_error(exc: ValidationError) -> str:
    """One line per problem, naming the field; input values are left out so secrets never leak."""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        lines.append(f"{loc}: {msg}")
    return "\n".join(lines)


def read_config_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"config file {path} is not UTF-8 text "
            f"(byte 0x{exc.object[exc.start]:02x} at offset {exc.start})"
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"config file {path} is not valid YAML{where}") from None
    except RecursionError:  # PyYAML composes nested collections recursively
        raise ConfigError(f"config file {path} is nested too deeply") from None
    except ValueError as exc:  # YAML that parses but names an impossible value: 2026-13-01
        raise ConfigError(f"config file {path} holds an impossible value: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"config file {path} must hold a mapping of keys, not {type(data).__name__}"
        )
    if bad := [key for key in data if not isinstance(key, str)]:
        raise ConfigError(f"config file {path}: keys must be names, not {bad[0]!r}")
    return data


def load_settings(
    config_file: Path | str | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Load and validate the configuration; raise ConfigError with a readable message on bad input."""
    env = os.environ if environ is None else environ
    path = config_file or env.get(CONFIG_ENV)
    data = read_config_file(Path(path)) if path else {}
    token = _ENVIRON.set(environ)
    try:
        return Settings(**data)
    except ValidationError as exc:
        # one problem stays on one line; several get a line each under a heading
        problems = describe_validation_error(exc)
        sep = "\n" if "\n" in problems else " "
        raise ConfigError(f"invalid configuration:{sep}{problems}") from None
    finally:
        _ENVIRON.reset(token)
