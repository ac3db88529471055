"""The static auth flows, re-exported where the client and the tests have always found them.

The credential methods live in controller/dws/credentials/; choosing one from the settings is
the app's job (`controller.app.credentials`): nothing under controller/dws/ reads the settings.
"""

from __future__ import annotations

from controller.dws.credentials.flows import (
    IAM_OPERATION,
    OPERATION_KEY,
    PROJECT_HEADER,
    SECURITY_TOKEN_HEADER,
    SUBJECT_TOKEN_HEADER,
    TOKEN_HEADER,
    AkSkAuth,
    IamPasswordAuth,
    StaticTokenAuth,
)

__all__ = [
    "IAM_OPERATION",
    "OPERATION_KEY",
    "PROJECT_HEADER",
    "SECURITY_TOKEN_HEADER",
    "SUBJECT_TOKEN_HEADER",
    "TOKEN_HEADER",
    "AkSkAuth",
    "IamPasswordAuth",
    "StaticTokenAuth",
]
