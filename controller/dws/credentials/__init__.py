"""Credentials for DWS: one type per way of authenticating, each knowing its secrets and its httpx.Auth.

`chain.choose` picks the type from the `auth` settings and the environment. Nothing here reads
the settings module: the caller hands in the options (controller/dws/auth.py does).
"""
