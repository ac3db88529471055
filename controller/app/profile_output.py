"""`status CLUSTER` under `load.schedule: quietest`: the learned load profile and the chosen hour.

The profile is the one the controller uses (journaled, or built for this read when the journal
has none), shown as a 7 x 24 heat-map with the quietest allowed upcoming hour and its load.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, TextIO

from controller.guards.slot import allowed_hours, quietest_schedule
from controller.load.profile import HOUR, Choice, Profile, heatmap, quietest
from controller.loop.cycle import Reconciler
from controller.loop.snapshot import ClusterView
from controller.model import WEEKDAYS


@dataclass(frozen=True)
class ProfileView:
    cluster_name: str
    profile: Profile
    choice: Choice | None


def load_profile(reconciler: Reconciler, view: ClusterView, at: dt.datetime) -> ProfileView | None:
    """The cluster's profile and the hour it would choose at `at`; None when it has no profile."""
    policy = reconciler.policy(view.cluster)
    profile = reconciler.quiet_slots.profile(view.cluster.id)
    if not quietest_schedule(policy) or profile is None:
        return None
    allowed = allowed_hours(view.cluster, policy)
    choice = quietest(profile, at, allowed) if allowed is not None else None
    return ProfileView(view.cluster.name, profile, choice)


def print_profile(shown: ProfileView, fmt: str, out: TextIO) -> None:
    if fmt == "json":
        out.write(json.dumps(_profile_json(shown)) + "\n")
        return
    profile = shown.profile
    built = profile.built.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    out.write(
        f"\nload profile of {shown.cluster_name}: expected load by local hour of the week, "
        f"from {profile.history // HOUR} hours of hourly Cloud Eye data (built {built})\n"
    )
    out.write(heatmap(profile) + "\n")
    out.write(_choice_line(shown.choice) + "\n")


def _choice_line(choice: Choice | None) -> str:
    if choice is None:
        return "quietest allowed hour: none with history in the coming week"
    day, hour = choice.slot
    at = choice.at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"quietest allowed hour: {WEEKDAYS[day]} {hour:02d}:00 local ({at}), "
        f"expected load {choice.expected:.2f} of the tightest limit"
    )


def _profile_json(shown: ProfileView) -> dict[str, Any]:
    choice = shown.choice
    return {
        "cluster_name": shown.cluster_name,
        "load_profile": shown.profile.as_dict(),
        "quietest": None
        if choice is None
        else {
            "at": choice.at.isoformat(),
            "weekday": WEEKDAYS[choice.slot[0]],
            "hour": choice.slot[1],
            "expected": choice.expected,
        },
    }
