"""One module per command group: act (holds the actor lock), read (read-only), operate."""
