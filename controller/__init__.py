"""dws-rebalancer: keeps GaussDB(DWS) clusters balanced, safely. Version only; no side effects."""

__version__ = "0.1.0"
