"""OData query options of the users endpoints (§4.1–§4.4): parsing and the rules about
which options need the advanced-query parameters."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .envelope import CIDict, GraphError, bad_request, no_such_property, unsupported_query
from .filters import Node, check_filter, parse_filter
from .schema import EXTENSION_RE, PROPS, SEARCHABLE

#: Options each endpoint understands; anything else starting with "$" is rejected.
LIST_OPTIONS = frozenset({"$select", "$filter", "$top", "$count", "$orderby", "$search",
                          "$expand", "$skiptoken"})
GET_OPTIONS = frozenset({"$select", "$expand", "$count"})
DELTA_OPTIONS = frozenset({"$select", "$filter", "$skiptoken", "$deltatoken"})
COUNT_OPTIONS = frozenset({"$filter", "$search"})
MANAGER_OPTIONS = frozenset({"$select"})
MAX_LEVELS = 1000
#: Largest page of a list with ``$expand``: "$expand on directory objects returns a maximum
#: of 100 objects" (known issue 13635, [KI]).
EXPAND_PAGE_LIMIT = 100


@dataclass
class Expand:
    """``$expand=manager(...)``: one level unless ``$levels`` (§3.5)."""

    levels: int = 1
    select: list[str] | None = None


@dataclass
class SearchTerm:
    """One ``"property:value"`` clause of ``$search``."""

    prop: str
    value: str


@dataclass
class QueryOptions:
    """The parsed options of one request."""

    pairs: list[tuple[str, str]]  # original options, lower-cased names, minus paging tokens
    select: list[str] | None = None
    filter: Node | None = None
    top: int | None = None
    count: bool = False
    orderby: list[tuple[str, bool]] = field(default_factory=list)  # (property, descending)
    search: list[list[SearchTerm]] | None = None  # OR of AND groups
    expand: Expand | None = None
    skiptoken: str | None = None
    deltatoken: str | None = None
    eventual: bool = False  # ConsistencyLevel: eventual header present
    advanced: bool = False  # header AND $count=true (§4.2)

    def value(self, name: str) -> str | None:
        """The raw value of option ``name`` (lower-case, with "$")."""
        return next((v for k, v in self.pairs if k == name), None)


def parse_select(text: str, *, single: bool, extensions: list[str],
                 extra: frozenset[str] = frozenset()) -> list[str]:
    """``$select``: known properties only; single-GET-only ones on a list → 501 (§1.1)."""
    names: list[str] = []
    for raw in text.split(","):
        name = raw.strip()
        if not name:
            continue
        if name in extra:
            pass
        elif EXTENSION_RE.match(name):
            if name not in extensions:
                raise no_such_property(name)
        elif name not in PROPS:
            raise no_such_property(name)
        elif PROPS[name].single_only and not single:
            raise GraphError(501, "NotImplemented", "This operation target is not yet supported.")
        if name not in names:
            names.append(name)
    return names


def _parse_top(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 999:
        # §4.1 [QA-TOP] text; code not captured, Request_BadRequest [INF].
        raise bad_request(f"Invalid page size specified: '{text}'. Must be between 1 and 999 "
                          "inclusive.")
    return int(text)


def _parse_orderby(text: str) -> list[tuple[str, bool]]:
    out: list[tuple[str, bool]] = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2 or (len(words) == 2
                                           and words[1].lower() not in {"asc", "desc"}):
            raise bad_request(f"Invalid $orderby clause '{part.strip()}'.", code="BadRequest")
        if words[0] not in PROPS:
            raise no_such_property(words[0])
        out.append((words[0], len(words) == 2 and words[1].lower() == "desc"))
    return out


def _parse_search(text: str) -> list[list[SearchTerm]]:
    """``"displayName:wa" OR "mail:x" AND ...`` (§4.3); AND binds tighter than OR."""
    words = re.findall(r'"[^"]*"|\S+', text.strip())
    groups: list[list[SearchTerm]] = [[]]
    expect_term = True
    for word in words:
        if expect_term:
            prop, colon, value = word.strip('"').partition(":")
            if not (word.startswith('"') and word.endswith('"') and colon and value):
                raise bad_request(f"Syntax error: invalid $search clause {word}.",
                                  code="BadRequest")  # [INF] text
            if prop not in SEARCHABLE:
                raise unsupported_query(f"Invalid search property '{prop}'.")  # [INF]
            groups[-1].append(SearchTerm(prop, value))
        elif word == "OR":
            groups.append([])
        elif word != "AND":
            raise bad_request(f"Syntax error: unexpected '{word}' in $search.", code="BadRequest")
        expect_term = not expect_term
    if expect_term:
        raise bad_request("Syntax error: incomplete $search clause.", code="BadRequest")
    return groups


def search_matches(groups: list[list[SearchTerm]], doc: dict[str, Any]) -> bool:
    """Tokenized prefix match: a term matches when a word of the property starts with it."""
    def term(t: SearchTerm) -> bool:
        value = doc.get(t.prop)
        if not isinstance(value, str):
            return False
        words = [value, *re.split(r"[^0-9A-Za-z]+", value)]
        return any(w.casefold().startswith(t.value.casefold()) for w in words if w)
    return any(all(term(t) for t in group) for group in groups)


def _parse_expand(text: str, *, single: bool, extensions: list[str]) -> Expand:
    match = re.fullmatch(r"\s*([A-Za-z]+)\s*(?:\((.*)\))?\s*", text)
    if match is None:
        raise bad_request(f"Invalid $expand clause '{text}'.", code="BadRequest")
    if match.group(1) != "manager":
        raise no_such_property(match.group(1))
    expand = Expand()
    for option in filter(None, (o.strip() for o in (match.group(2) or "").split(";"))):
        name, _, value = option.partition("=")
        if name.lower() == "$levels":
            if not single:
                raise unsupported_query("$levels is only supported on a single user.")  # [INF]
            if value.lower() == "max":
                expand.levels = MAX_LEVELS
            elif value.isdigit() and 1 <= int(value) <= MAX_LEVELS:
                expand.levels = int(value)
            else:
                raise bad_request(f"Invalid $levels value '{value}'.", code="BadRequest")
        elif name.lower() == "$select":
            expand.select = parse_select(value, single=False, extensions=extensions)
        else:
            raise bad_request(f"Query option '{name}' is not supported in $expand.",
                              code="BadRequest")
    return expand


def parse_options(query: list[tuple[str, str]], headers: CIDict, *, allowed: frozenset[str],
                  single: bool, extensions: list[str],
                  select_extra: frozenset[str] = frozenset(),
                  count_implied: bool = False) -> QueryOptions:
    """Parse and check the options of one request (names are case-insensitive, §8).

    ``count_implied``: the ``/users/$count`` segment stands for ``$count=true``.
    """
    seen: dict[str, str] = {}
    for name, value in query:
        key = name.lower() if name.startswith("$") else name
        if not key.startswith("$"):
            continue  # non-OData parameters are ignored
        if key in seen:
            raise bad_request(f"Query option '{name}' was specified more than once, but it must "
                              "be specified at most once.", code="BadRequest")
        if key == "$skip":
            raise bad_request("'$skip' is not supported by the service.")  # §4.1 [INF] text
        if key not in allowed:
            if key in {"$expand", "$top", "$orderby"} and "$deltatoken" in allowed:
                raise unsupported_query(f"Query option '{key}' is not supported for users delta.")
            raise bad_request(f"Query option '{name}' is not supported.", code="BadRequest")
        seen[key] = value
    eventual = (headers.get_ci("consistencylevel") or "").strip().lower() == "eventual"
    opts = QueryOptions(pairs=[(k, v) for k, v in seen.items()
                               if k not in {"$skiptoken", "$deltatoken"}], eventual=eventual)
    count = seen.get("$count")
    if count is not None:
        if count.lower() not in {"true", "false"}:
            raise bad_request(f"Invalid value '{count}' for $count.", code="BadRequest")
        # §4.3: $count=true without the header is silently ignored.
        opts.count = count.lower() == "true" and eventual
    opts.advanced = eventual and (opts.count or count_implied)
    if "$select" in seen:
        opts.select = parse_select(seen["$select"], single=single, extensions=extensions,
                                   extra=select_extra)
    if "$top" in seen:
        opts.top = _parse_top(seen["$top"])
    if "$filter" in seen:
        opts.filter = parse_filter(seen["$filter"])
        check_filter(opts.filter, opts.advanced, extensions)
    if "$orderby" in seen:
        opts.orderby = _parse_orderby(seen["$orderby"])
        plain = all(PROPS[p].orderby_default for p, _ in opts.orderby)
        if not opts.advanced and (opts.filter is not None or not plain):
            # §4.3: $orderby by default only on displayName/userPrincipalName, and
            # $filter + $orderby together need advanced parameters ([INF] text).
            raise unsupported_query("Sorting not supported for current query.")
    if "$search" in seen:
        if not eventual:
            raise unsupported_query(
                "Request with $search query parameter only works through MSGraph with a special "
                "request header: 'ConsistencyLevel: eventual'")
        opts.search = _parse_search(seen["$search"])
    if "$expand" in seen:
        opts.expand = _parse_expand(seen["$expand"], single=single, extensions=extensions)
        if opts.advanced and not single:
            # §4.3: $expand is not supported together with advanced queries ([INF] text).
            raise unsupported_query("$expand is not supported together with advanced queries.")
    opts.skiptoken = seen.get("$skiptoken")
    opts.deltatoken = seen.get("$deltatoken")
    return opts
