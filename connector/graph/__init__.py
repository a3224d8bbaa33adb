"""The Microsoft Graph client layer: settings, app-only tokens, and a ``/users`` client
with retries, paging and JSON batching (graph.md §2–§7).

Typical use::

    settings = GraphSettings.from_env(os.environ).require()
    with GraphClient.from_settings(settings) as graph:
        users = graph.list_users(["displayName", "department"])
        results = graph.execute([Operation("update", user_id, {"department": "R&D"},
                                           ref="E123")])

Nothing here imports :mod:`connector.sandbox` (the sandbox is the client's examiner).
"""

from connector.http.retry import parse_retry_after

from .auth import BearerAuth, MsalHttpClient, MsalTokenProvider, TokenProvider, load_certificate
from .batch import MAX_BATCH, batch_payload, split_responses
from .client import BASE_FIELDS, GraphClient, version_root
from .operations import KINDS, Operation, OperationKind, OperationResult
from .pacing import Pacer
from .paging import MAX_IN_VALUES, chunked, eq_filter, in_filter, iter_pages, odata_string
from .retry import (
    ErrorInfo,
    Outcome,
    RetryPolicy,
    classify,
    error_info,
    graph_error,
)
from .settings import ENV_NAMES, KNOWN_AUTHORITY_HOSTS, GraphSettings

__all__ = [
    "BASE_FIELDS",
    "ENV_NAMES",
    "KINDS",
    "KNOWN_AUTHORITY_HOSTS",
    "MAX_BATCH",
    "MAX_IN_VALUES",
    "BearerAuth",
    "ErrorInfo",
    "GraphClient",
    "GraphSettings",
    "MsalHttpClient",
    "MsalTokenProvider",
    "Operation",
    "OperationKind",
    "OperationResult",
    "Outcome",
    "Pacer",
    "RetryPolicy",
    "TokenProvider",
    "batch_payload",
    "chunked",
    "classify",
    "eq_filter",
    "error_info",
    "graph_error",
    "in_filter",
    "iter_pages",
    "load_certificate",
    "odata_string",
    "parse_retry_after",
    "split_responses",
    "version_root",
]
