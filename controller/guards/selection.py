"""The selection guard: which clusters the controller may touch (include/exclude lists, opt-out tag)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from controller.guards import GuardSpec
from controller.model import ALLOW, Cluster, GuardResult, History, Reason, block
from controller.settings import EffectivePolicy, OptOutTag, matches_any


def selection_guard(
    cluster: Cluster, history: History, policy: EffectivePolicy, now: dt.datetime
) -> GuardResult:
    selection = policy.selection
    excluded_by = _first_match(selection.exclude, cluster)
    if excluded_by is not None:
        return block(Reason.EXCLUDED, f"matches clusters.exclude pattern {excluded_by!r}")
    if _first_match(selection.include, cluster) is None:
        return block(
            Reason.EXCLUDED, f"matches none of the clusters.include patterns {selection.include}"
        )
    tag = selection.opt_out_tag
    if tag is not None and _has_tag(cluster.tags, tag):
        return block(Reason.OPTED_OUT, f"cluster tag {tag.key}={tag.value} opts it out")
    return ALLOW


def _first_match(patterns: list[str], cluster: Cluster) -> str | None:
    return next((p for p in patterns if matches_any([p], cluster.id, cluster.name)), None)


def _has_tag(tags: Mapping[str, str], tag: OptOutTag) -> bool:
    # Values are compared case-insensitively: a human typing "Disabled" in the console means it.
    value = tags.get(tag.key)
    return value is not None and value.strip().casefold() == tag.value.casefold()


SPEC = GuardSpec("selection", selection_guard, frozenset({Reason.EXCLUDED, Reason.OPTED_OUT}))
