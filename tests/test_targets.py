"""Targets: each a complete configuration of its own from `targets:` and the top-level defaults;
the implicit one without `targets:`; the stable owner of each target among N replicas."""

from __future__ import annotations

import collections
import datetime as dt
from typing import Any

import pytest
import yaml

from controller.settings import ConfigError, Settings, load_settings
from controller.targets import fleet, ordinal_from, owned, owner

BASE: dict[str, Any] = {
    "project_id": "p-default",
    "auth": {"ak": "AKBASE0000000000000", "sk": "base-sk"},
    "policy": {"cooldown": "2h", "max_per_day": 1, "load": {"cloud_eye": {"lookback": "10m"}}},
    "overrides": [{"match": "etl-*", "policy": {"max_per_day": 5}}],
}


def settings(**extra: Any) -> Settings:
    return Settings(**{**BASE, **extra})


def test_without_targets_the_top_level_is_the_one_default_target() -> None:
    only = settings()
    (target,) = fleet(only)
    assert (target.name, target.settings) == ("default", only)
    assert only.endpoint == "https://dws.cn-north-4.myhuaweicloud.com"  # from the region


def test_a_target_takes_the_top_level_keys_it_does_not_set() -> None:
    config = settings(
        targets=[
            {"name": "bj", "region": "cn-north-4"},
            {
                "name": "sh",
                "region": "cn-east-3",
                "project_id": "p-sh",
                "auth": {"ak": "AKSH00000000000000", "sk": "sh-sk"},
                "policy": {
                    "max_per_day": 3,
                    "load": {"cloud_eye": {"limits": {"dws010_cpu_usage": 70}}},
                },
                "overrides": [{"match": "etl-*", "policy": {"max_per_day": 9}}],
                "clusters": {"exclude": ["legacy-*"]},
            },
        ]
    )
    bj, sh = fleet(config)
    assert (bj.name, bj.project_id, bj.region) == ("bj", "p-default", "cn-north-4")
    assert bj.settings.endpoint == "https://dws.cn-north-4.myhuaweicloud.com"
    assert bj.settings.auth.ak == "AKBASE0000000000000"
    assert (sh.project_id, sh.settings.endpoint) == (
        "p-sh",
        "https://dws.cn-east-3.myhuaweicloud.com",
    )
    assert sh.settings.auth.ak == "AKSH00000000000000"
    # policy merges key by key: the top-level cooldown and lookback stay, the target's win.
    policy = sh.settings.policy
    assert (policy.cooldown, policy.max_per_day) == (dt.timedelta(hours=2), 3)
    assert policy.load.cloud_eye.lookback == dt.timedelta(minutes=10)
    assert policy.load.cloud_eye.limits == {"dws010_cpu_usage": 70}
    # the target's overrides come first; the top-level ones still apply after them
    assert sh.settings.policy_for("c1", "etl-nightly").max_per_day == 9
    assert bj.settings.policy_for("c1", "etl-nightly").max_per_day == 5
    assert sh.settings.policy_for("c2", "legacy-x").selection.exclude == ["legacy-*"]
    assert (bj.settings.target, sh.settings.target, config.target) == ("bj", "sh", "default")


def test_an_explicit_top_level_endpoint_is_every_target_s_default() -> None:
    config = settings(
        endpoint="http://proxy.internal:8080",
        targets=[{"name": "a"}, {"name": "b", "endpoint": "https://dws.example:443/"}],
    )
    a, b = fleet(config)
    assert a.settings.endpoint == "http://proxy.internal:8080"
    assert b.settings.endpoint == "https://dws.example:443"


def test_each_target_caches_its_own_effective_policies() -> None:
    config = settings(targets=[{"name": "a", "policy": {"max_per_day": 7}}, {"name": "b"}])
    config.policies()  # the base's cache is filled first
    a, b = fleet(config)
    assert a.settings.policy_for("x", "x").max_per_day == 7
    assert b.settings.policy_for("x", "x").max_per_day == 1


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        ([{"name": "a"}, {"name": "a"}], "two targets have the same name"),
        ([{"name": "Bad Name"}], "targets.0.name"),
        ([{"name": "a", "policy": {"max_per_day": -1}}], "targets.0.policy.max_per_day"),
        ([{"name": "a", "endpoint": "ftp://x"}], "targets.0.endpoint"),
        (
            [{"name": "a", "overrides": [{"match": "x", "policy": {"cooldown": "soon"}}]}],
            "targets.0.overrides.0.policy.cooldown",
        ),
        (
            # the top-level override is valid on the top-level policy, not on this target's
            [{"name": "a", "policy": {"load": {"cloud_eye": {"limits": {}}}}}],
            r"overrides\.1 \(for target a\)\.policy\.load",
        ),
        ([{"name": "a", "colour": "red"}], "targets.0.colour"),
    ],
)
def test_bad_targets_are_one_clear_config_error(
    tmp_path: Any, targets: list[dict[str, Any]], message: str
) -> None:
    path = tmp_path / "config.yaml"
    quietest = {"match": "report-*", "policy": {"load": {"schedule": "quietest"}}}
    limits = {"cloud_eye": {"limits": {"dws010_cpu_usage": 60}}}
    base = {**BASE, "policy": {**BASE["policy"], "load": {**BASE["policy"]["load"], **limits}}}
    base["overrides"] = [*BASE["overrides"], quietest]
    path.write_text(yaml.safe_dump({**base, "targets": targets}))
    with pytest.raises(ConfigError, match=message):
        load_settings(path, environ={})


def test_a_target_without_any_project_id_is_refused(tmp_path: Any) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("targets: [{name: a, project_id: pa}, {name: b}]\n")
    with pytest.raises(ConfigError, match="targets b: no project_id"):
        load_settings(path, environ={})
    path.write_text("region: cn-north-4\n")
    with pytest.raises(ConfigError, match="project_id is required"):
        load_settings(path, environ={})


def test_owners_are_stable_and_spread_over_the_replicas() -> None:
    names = [f"target-{i:03d}" for i in range(300)]
    counts = collections.Counter(owner(name, 3) for name in names)
    assert set(counts) == {0, 1, 2}
    assert min(counts.values()) > 70  # about 100 each
    # Known values: a release that changed the hash would move every target at once.
    assert [owner(name, 3) for name in ("bj", "sh", "gz")] == [0, 1, 1]
    assert [owner("bj", n) for n in (1, 2, 5, 7)] == [0, 0, 3, 4]


def test_each_replica_owns_its_share_and_together_all() -> None:
    targets = [{"name": f"t{i}"} for i in range(12)]
    shares = [
        {t.name for t in owned(settings(targets=targets, sharding={"replicas": 3}), f"rb-{k}")}
        for k in range(3)
    ]
    assert set().union(*shares) == {f"t{i}" for i in range(12)}
    assert sum(len(s) for s in shares) == 12
    one = settings(targets=targets)
    assert len(owned(one, None)) == 12


@pytest.mark.parametrize(
    ("pod", "ordinal"), [("dws-rebalancer-0", 0), ("rb-12", 12), ("a-b-c-3", 3)]
)
def test_the_ordinal_is_the_pod_name_s_number(pod: str, ordinal: int) -> None:
    assert ordinal_from(pod) == ordinal


@pytest.mark.parametrize("pod", [None, "", "dws-rebalancer", "rb-x"])
def test_sharding_without_an_ordinal_is_a_config_error(pod: str | None) -> None:
    config = settings(targets=[{"name": "a"}], sharding={"replicas": 2})
    with pytest.raises(ConfigError, match=r"sharding\.ordinal, or POD_NAME"):
        owned(config, pod)


def test_every_target_s_credentials_are_secrets_to_mask() -> None:
    config = settings(
        targets=[{"name": "a", "auth": {"ak": "AKA00000000000000000", "sk": "sk-of-a"}}]
    )
    assert {"base-sk", "sk-of-a", "AKA00000000000000000"} <= set(config.secret_values())
