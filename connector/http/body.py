"""Bodies read with a ceiling: a response is streamed and abandoned once it passes the
limit, so a runaway page (an API ignoring the page size, a proxy's endless error page)
costs at most ``limit`` bytes of memory, never its whole size."""

from __future__ import annotations

import httpx

#: Default ceiling of one response body (a page of an HR API export).
DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024


def read_capped(response: httpx.Response, limit: int) -> httpx.Response | None:
    """``response`` (sent with ``stream=True``) with its decoded body read, or None when
    the body is larger than ``limit`` bytes (announced or counted); the stream is closed
    either way. A response already read is checked as it is."""
    try:
        announced = _length(response.headers.get("Content-Length"))
        if announced is not None and announced > limit:
            return None
        if response.is_stream_consumed:
            body = response.content
        else:
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    return None
                chunks.append(chunk)
            body = b"".join(chunks)
        if len(body) > limit:
            return None
    finally:
        response.close()
    # The body is decoded now: drop the headers that described the encoded bytes.
    headers = [(k, v) for k, v in response.headers.multi_items()
               if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")]
    return httpx.Response(response.status_code, headers=headers, content=body,
                          request=response.request, extensions=response.extensions)


def _length(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
