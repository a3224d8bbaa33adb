"""The one HTTP policy, shared by the Graph client and the HR API readers.

- :mod:`.verdict` — :func:`classify`: a response or transport error becomes a
  :class:`Verdict` (success, retry, verify, fatal), with "maybe applied" and the request's
  idempotency taken into account. No module outside this package decides whether an
  answer is retried.
- :mod:`.retry` — :class:`RetryPolicy` (bounds, backoff with jitter) and
  :func:`send_with_retries`, the loop of sequential callers; time is injected.
- :mod:`.retry_after` — ``Retry-After`` in seconds, decimals or an HTTP date.
- :mod:`.redact` — URLs and messages without credentials.
- :mod:`.body` — response bodies read with a size ceiling.

What stays with each caller: Graph's error envelope, its create-once lookup and ``$batch``
per-item state; the readers' paging and their ``SourceError`` messages.
"""

from .body import DEFAULT_MAX_BODY_BYTES, read_capped
from .redact import redact_url, scrub
from .retry import Retried, RetryPolicy, send_with_retries
from .retry_after import parse_retry_after
from .verdict import SERVER_FAILURES, THROTTLED, Kind, Verdict, classify

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "SERVER_FAILURES",
    "THROTTLED",
    "Kind",
    "Retried",
    "RetryPolicy",
    "Verdict",
    "classify",
    "parse_retry_after",
    "read_capped",
    "redact_url",
    "scrub",
    "send_with_retries",
]
