"""The Microsoft Graph client layer: settings, app-only tokens, and a ``/users`` client
with retries, paging and JSON batching (graph.md §2–§7).

Typical use::

    settings = GraphSettings.from_env(os.environ).require()
    with GraphClient.from_settings(settings) as graph:
        users = graph.list_users(["displayName", "department"])
        results = graph.execute([Operation("update", user_id, {"department": "R&D"},
                                           ref="E123")])

Which answers are retried, and how long to wait, is :mod:`connector.http`'s policy
(``RetryPolicy`` is re-exported here for the client's ``policy=``). Nothing here imports
:mod:`connector.sandbox` (the sandbox is the client's examiner).
"""

from connector.http import RetryPolicy

from .auth import BearerAuth, MsalHttpClient, MsalTokenProvider, TokenProvider, load_certificate
from .batch import MAX_BATCH, batch_payload, split_responses
from .client import BASE_FIELDS, GraphClient, version_root
from .delta import DeltaRound, apply_round, token_refused
from .envelope import ErrorInfo, error_info, graph_error
from .group_writes import MAX_BIND, GroupOperation, GroupOperationResult
from .groups import GroupsClient
from .operations import KINDS, Operation, OperationKind, OperationResult
from .pacing import Pacer
from .paging import eq_filter, iter_pages, odata_string
from .settings import ENV_NAMES, KNOWN_AUTHORITY_HOSTS, GraphSettings

__all__ = [
    "BASE_FIELDS",
    "ENV_NAMES",
    "KINDS",
    "KNOWN_AUTHORITY_HOSTS",
    "MAX_BATCH",
    "MAX_BIND",
    "BearerAuth",
    "DeltaRound",
    "ErrorInfo",
    "GraphClient",
    "GraphSettings",
    "GroupOperation",
    "GroupOperationResult",
    "GroupsClient",
    "MsalHttpClient",
    "MsalTokenProvider",
    "Operation",
    "OperationKind",
    "OperationResult",
    "Pacer",
    "RetryPolicy",
    "TokenProvider",
    "apply_round",
    "batch_payload",
    "eq_filter",
    "error_info",
    "graph_error",
    "iter_pages",
    "load_certificate",
    "odata_string",
    "split_responses",
    "token_refused",
    "version_root",
]
