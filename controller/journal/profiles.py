"""Load profiles: each cluster's hour-of-week profile, kept so a restart does not fetch 28 days again.

The journal stores the profile as the JSON its builder gives (`controller.load.profile.Profile.
as_dict`); it neither reads nor checks the contents, so journal and load stay independent.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from controller.journal import rows
from controller.journal.store import Store

_UPSERT = """
INSERT INTO load_profiles (cluster_id, built, profile) VALUES (?, ?, ?)
ON CONFLICT (cluster_id) DO UPDATE SET built = excluded.built, profile = excluded.profile"""


class LoadProfiles(Store):
    def save_profile(
        self, cluster_id: str, *, built: dt.datetime, profile: Mapping[str, Any]
    ) -> None:
        """Keep the cluster's latest profile (one row per cluster: a newer one replaces it)."""
        with self._write() as conn:
            conn.execute(_UPSERT, (cluster_id, rows.text(built), json.dumps(profile)))

    def profiles(self) -> dict[str, dict[str, Any]]:
        """Every kept profile by cluster id; a row that is not JSON is left out (rebuilt later)."""
        table = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'load_profiles'"
        if not self._read(table, {}, lambda row: row[0]):  # an older journal, read as it is
            return {}
        found = self._read("SELECT cluster_id, profile FROM load_profiles", {}, _decoded)
        return {cid: profile for cid, profile in found if profile is not None}

    def forget_profile(self, cluster_id: str) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM load_profiles WHERE cluster_id = ?", (cluster_id,))


def _decoded(row: Any) -> tuple[str, dict[str, Any] | None]:
    try:
        value = json.loads(row["profile"])
    except ValueError:
        return row["cluster_id"], None
    return row["cluster_id"], value if isinstance(value, dict) else None
