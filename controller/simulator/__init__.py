"""A GaussDB(DWS) API emulator (ASGI): simulated clusters, switchovers, AK/SK and IAM auth, faults."""
