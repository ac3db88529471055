"""Recording: typed events fanned out by the recorder to its sinks (journal, metrics, log)."""
