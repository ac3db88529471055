"""Notifications delivered: one row per (event, channel), so a restart never sends an event twice.

The notifier asks before delivering and writes the outcome after; only `sent` counts as done,
so an event whose delivery failed is tried again should the loop record it again.
"""

from __future__ import annotations

import datetime as dt

from controller.journal import rows
from controller.journal.store import Store

SENT = "sent"
_UPSERT = """
INSERT INTO notifications (event_key, channel_key, outcome, at) VALUES (?, ?, ?, ?)
ON CONFLICT (event_key, channel_key) DO UPDATE SET outcome = excluded.outcome, at = excluded.at
WHERE notifications.outcome != 'sent'"""


class Notifications(Store):
    def notification_sent(self, event_key: str, channel_key: str) -> bool:
        """True when this event already reached this channel (in this process or an earlier one)."""
        sql = (
            "SELECT 1 FROM notifications WHERE event_key = :event AND channel_key = :channel"
            " AND outcome = 'sent'"
        )
        params = {"event": event_key, "channel": channel_key}
        return bool(self._read(sql, params, lambda row: row[0]))

    def record_notification(
        self, event_key: str, channel_key: str, *, outcome: str, at: dt.datetime
    ) -> None:
        """Keep a delivery's outcome; a `sent` row is final (a later failure never undoes it)."""
        with self._write() as conn:
            conn.execute(_UPSERT, (event_key, channel_key, outcome, rows.text(at)))

    def prune_notifications(self, *, before: dt.datetime) -> int:
        """Forget deliveries older than `before` (their events will not be recorded again)."""
        with self._write() as conn:
            sql = "DELETE FROM notifications WHERE at < ?"
            return conn.execute(sql, (rows.text(before),)).rowcount
