"""The load gates' parts: Cloud Eye and Prometheus as data sources, the load profile, the assessment.

Sources do the I/O and return plain values (`controller.load.facts`); the profile and the
assessment are pure functions of those values, so the cycle fetches once and decides in memory.
"""
