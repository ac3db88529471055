"""The DWS API boundary: the client, its auth flows, response parsing and typed errors."""

from controller.dws.auth import AkSkAuth, IamPasswordAuth, StaticTokenAuth, auth_from_settings
from controller.dws.client import DwsClient, RequestHook, SwitchoverAck, UnexpectedHook
from controller.dws.errors import (
    AuthenticationError,
    BadRequestError,
    DwsApiError,
    DwsError,
    DwsTransportError,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    ServerError,
    ThrottledError,
    error_from_response,
)
from controller.dws.parse import parse_cluster, parse_cluster_detail, parse_cluster_list
from controller.dws.retry import RetryPolicy

__all__ = [
    "AkSkAuth",
    "AuthenticationError",
    "BadRequestError",
    "DwsApiError",
    "DwsClient",
    "DwsError",
    "DwsTransportError",
    "IamPasswordAuth",
    "MalformedResponseError",
    "NotFoundError",
    "PermissionDeniedError",
    "RequestHook",
    "RetryPolicy",
    "ServerError",
    "StaticTokenAuth",
    "SwitchoverAck",
    "ThrottledError",
    "UnexpectedHook",
    "auth_from_settings",
    "error_from_response",
    "parse_cluster",
    "parse_cluster_detail",
    "parse_cluster_list",
]
