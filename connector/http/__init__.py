"""The one HTTP policy: how a response is classified, when a call is retried and how long
it waits (``Retry-After`` first), and what is redacted from messages. Graph and the HR
API readers both use it."""
