"""The reconcile loop as its stages: runner (ticks) → cycle (observe → judge → act → track → record)."""
