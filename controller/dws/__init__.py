"""The DWS API boundary: the client, its auth flows, response parsing and typed errors.

Import the submodule you need (`controller.dws.client`, `.errors`, `.parse`…): this package
imports nothing itself, so catching a `DwsError` does not load httpx.
"""
