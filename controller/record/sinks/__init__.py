"""The recorder's sinks: one module each (journal, metrics, log); the demo adds its narrator."""
