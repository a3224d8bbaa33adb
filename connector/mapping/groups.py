"""The mapping's ``groups:`` section: compiled when the mapping loads, applied to records.

Each rule names its groups with templates: ``displayName: "Dept - {value}"``,
``mailNickname: "hr-dept-{value}"``, ``description``. In a mailNickname the value becomes
a slug Graph accepts (``Identity & Access`` -> ``identity-access``): diacritics normalised,
lower case, every character but ``a-z 0-9 _ -`` turned into ``-``; a nickname longer than
Graph's 64 characters keeps a hash of the value, so two long values never share a group.
The template's own text must already be valid and start with the marker.

``CompiledGroups.place`` puts one record in the groups its own values give, as the
record is mapped (so the record need not be kept); a rule that fails on a record (a bad
date in ``when``, say) makes that record an error, as an attribute rule does.
``memberships_of`` then decides what needs every record (``managers: true``: people whom
some record names as manager) and gives, per mapped record, its groups. Pure.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from connector.core.plan.group_model import DesiredGroup, GroupRule
from connector.core.records import MappedRecord, Record
from connector.errors import MappingError, Problem
from connector.mapping.expr import IGNORE, IGNORE_OBJECT, EvalContext, Expression
from connector.mapping.expr.diacritics import normalize_diacritics
from connector.mapping.spec import Condition, GroupRuleSpec, Groups

Values = Mapping[str, str | None]
Evaluate = Callable[[Values, EvalContext], Any]
Holds = Callable[[Values, EvalContext], bool]

#: Graph's limits for a group (graph docs, resources/group.md; connector/sandbox/GROUPS.md).
MAX_NICKNAME = 64
MAX_DISPLAY_NAME = 256
#: Characters Graph refuses in a group's mailNickname (besides non-ASCII).
NICKNAME_FORBIDDEN = frozenset('@()\\[]";:.<>, ')
_SLUG_DROP = re.compile(r"[^a-z0-9_-]+")
_PLACEHOLDER = "{value}"


@dataclass(frozen=True)
class Template:
    """A name with at most one ``{value}``: the text before and after it."""

    before: str
    after: str = ""
    has_value: bool = False

    def render(self, value: str | None) -> str:
        """The name for one value (a fixed name when there is no placeholder)."""
        return f"{self.before}{value}{self.after}" if self.has_value else self.before


def parse_template(text: str) -> Template:
    """``"Dept - {value}"`` -> Template; ``ValueError`` for other braces."""
    before, found, after = text.partition(_PLACEHOLDER)
    if any(brace in before + after for brace in "{}"):
        raise ValueError(f"{text!r}: the only placeholder is {{value}}, once")
    return Template(before, after, bool(found))


def slug(value: str) -> str:
    """What a value becomes inside a mailNickname: ``Identity & Access`` ->
    ``identity-access``; a value with nothing usable left becomes a short hash."""
    text = _SLUG_DROP.sub("-", normalize_diacritics(value).lower()).strip("-")
    return text or _digest(value)


def _digest(value: str) -> str:
    return hashlib.sha1(value.encode("utf-8"), usedforsecurity=False).hexdigest()[:8]


def nickname_problem(text: str) -> str | None:
    """Why literal text cannot be part of a group's mailNickname (None when it can)."""
    bad = sorted({c for c in text if c in NICKNAME_FORBIDDEN or not c.isascii()
                  or not c.isprintable()})
    if bad:
        return f"{text!r} holds characters a group mailNickname may not: {''.join(bad)!r}"
    return None


@dataclass(frozen=True, eq=False)
class CompiledGroupRule:
    """One group rule, ready to run."""

    rule: GroupRule
    value: Evaluate | None
    when: Holds | None
    managers: bool
    display: Template
    nickname: Template
    description: Template | None
    _made: dict[str | None, DesiredGroup] = field(default_factory=dict, repr=False)

    def group(self, value: str | None) -> DesiredGroup:
        """The group for one value (the same object each time: records share it)."""
        made = self._made.get(value)
        if made is None:
            made = DesiredGroup(self._nickname(value),
                                self.display.render(value)[:MAX_DISPLAY_NAME].strip(),
                                self.description.render(value) if self.description else None,
                                self.rule, value)
            self._made[value] = made
        return made

    def _nickname(self, value: str | None) -> str:
        before, after = self.nickname.before.lower(), self.nickname.after.lower()
        if value is None:
            return before
        text = slug(value)
        room = MAX_NICKNAME - len(before) - len(after)
        if len(text) > room:
            text = f"{text[:room - 9].rstrip('-')}-{_digest(value)}"
        return f"{before}{text}{after}"

    def groups_for(self, values: Values, context: EvalContext) -> list[DesiredGroup]:
        """The groups of this rule one record's values put it in, ``managers: true``
        aside (``CompiledGroups.memberships_of`` decides that); MappingError when it
        fails."""
        if self.when is not None and not self.when(values, context):
            return []
        if self.value is None:
            return [self.group(None)]
        result = self.value(values, context)
        if result is IGNORE or result is IGNORE_OBJECT or result is None:
            return []
        items = result if isinstance(result, list) else [result]
        found: list[DesiredGroup] = []
        for item in items:
            text = str(item).strip()
            if text and (group := self.group(text)) not in found:
                found.append(group)
        return found


@dataclass(frozen=True, eq=False)
class CompiledGroups:
    """The ``groups:`` section, compiled."""

    marker: str
    rules: tuple[CompiledGroupRule, ...]
    #: One tuple per combination of groups: a million people in a few hundred
    #: department-and-country combinations share a few hundred tuples.
    _combinations: dict[tuple[int, ...], tuple[tuple[CompiledGroupRule, DesiredGroup], ...]] = (
        field(default_factory=dict, repr=False))

    @property
    def group_rules(self) -> tuple[GroupRule, ...]:
        """The rules as the plan reads them."""
        return tuple(r.rule for r in self.rules)

    def place(self, values: Values, mapped: MappedRecord, context: EvalContext) -> None:
        """Put a mapped record in the groups its own values give (``mapped.groups``: pairs
        of rule and group); a rule that fails makes the record an ``error`` (the problem
        names the rule). Called as each record is mapped."""
        if mapped.status != "mapped":
            return
        # The record's values as they are: expressions and filters read "" as null, as
        # the mapping's rules do (no copy per record).
        placed: list[tuple[CompiledGroupRule, DesiredGroup]] = []
        for compiled in self.rules:
            try:
                placed.extend((compiled, group)
                              for group in compiled.groups_for(values, context))
            except MappingError as exc:
                rule = f"groups.{compiled.rule.name}"
                # Records share one empty errors tuple (MappedRecord): assign, never append.
                mapped.errors = [*mapped.errors, Problem(
                    f"{rule}: {exc.message}", row=mapped.row, column=rule,
                    key=mapped.key or None)]
        if mapped.errors:
            mapped.status = "error"
            return
        # Rules and groups live as long as the mapping: their ids name the combination.
        key = tuple(id(item) for pair in placed for item in pair)
        combination = self._combinations.get(key)
        if combination is None:
            combination = self._combinations[key] = tuple(placed)
        mapped.groups = combination

    def memberships_of(
        self, records: Iterable[MappedRecord]
    ) -> dict[int, tuple[DesiredGroup, ...]]:
        """Record row -> the groups it belongs to, for every mapped record ``place`` put
        somewhere; a ``managers: true`` rule keeps only people some mapped record (not a
        leaver) names as manager."""
        listed = list(records)
        managers = frozenset(m.manager_key for m in listed
                             if m.status == "mapped" and not m.leaver and m.manager_key)
        result: dict[int, tuple[DesiredGroup, ...]] = {}
        for mapped in listed:
            if mapped.status != "mapped" or not mapped.groups:
                continue
            groups = tuple(group for compiled, group in mapped.groups
                           if not compiled.managers or mapped.key in managers)
            if groups:
                result[mapped.row] = groups
        return result

    def memberships(
        self, pairs: Sequence[tuple[Record, MappedRecord]], context: EvalContext
    ) -> dict[int, tuple[DesiredGroup, ...]]:
        """``place`` then ``memberships_of``, for records mapped already (tests, tools)."""
        for record, mapped in pairs:
            self.place(record.values, mapped, context)
        return self.memberships_of(mapped for _, mapped in pairs)


def compile_groups(
    spec: Groups, *, compile_text: Callable[[str, str], Expression | None],
    compile_condition: Callable[[Condition, str], Holds | None], has_manager: bool,
    errors: list[MappingError], file: str,
) -> CompiledGroups:
    """Compile the section; every problem goes to ``errors`` (the loader raises them)."""
    marker = spec.marker.lower()
    problem = nickname_problem(spec.marker)
    if problem:
        errors.append(MappingError(f"marker: {problem}", file=file, rule="groups.marker"))
    rules: list[CompiledGroupRule] = []
    seen: dict[str, str] = {}
    names: set[str] = set()
    for item in spec.rules:
        where = f"groups.{item.name}"
        if item.name in names:
            errors.append(MappingError("two rules have this name", file=file, rule=where))
        names.add(item.name)
        compiled = _compile_rule(item, marker, where, compile_text, compile_condition,
                                 has_manager, errors, file)
        if compiled is None:
            continue
        fixed = compiled.rule.prefix if not compiled.rule.per_value else None
        if fixed is not None and fixed in seen.values():
            errors.append(MappingError(f"another rule already makes the group {fixed}",
                                       file=file, rule=where))
        seen[item.name] = fixed or f"{compiled.rule.prefix}*{compiled.rule.suffix}"
        rules.append(compiled)
    return CompiledGroups(marker, tuple(rules))


def _compile_rule(
    item: GroupRuleSpec, marker: str, where: str,
    compile_text: Callable[[str, str], Expression | None],
    compile_condition: Callable[[Condition, str], Holds | None], has_manager: bool,
    errors: list[MappingError], file: str,
) -> CompiledGroupRule | None:
    def fail(message: str, part: str = "") -> None:
        errors.append(MappingError(message, file=file, rule=where + part))

    templates: dict[str, Template] = {}
    for part, text in (("displayName", item.display_name), ("mailNickname", item.mail_nickname),
                       ("description", item.description)):
        if text is None:
            continue
        try:
            templates[part] = parse_template(text)
        except ValueError as exc:
            fail(str(exc), f".{part}")
    if "displayName" not in templates or "mailNickname" not in templates:
        return None
    per_value = item.value is not None
    for part, template in templates.items():
        if template.has_value != per_value and (part != "description" or not per_value):
            fail("a rule with value: names its groups with {value}" if per_value else
                 "{value} needs a value: expression", f".{part}")
    nickname = templates["mailNickname"]
    literal = nickname.before + nickname.after
    problem = nickname_problem(literal)
    if problem:
        fail(problem, ".mailNickname")
    if not nickname.before.lower().startswith(marker):
        fail(f"must start with the marker {marker!r} (only groups with it are the "
             "connector's)", ".mailNickname")
    if len(literal) + (9 + 3 if per_value else 0) > MAX_NICKNAME:
        fail(f"leaves too little of Graph's {MAX_NICKNAME} characters for the value",
             ".mailNickname")
    if item.managers and not has_manager:
        fail("managers: true needs the mapping's manager: section (who manages whom)")
    value = compile_text(item.value, f"{where}.value") if item.value is not None else None
    when = compile_condition(item.when, f"{where}.when") if item.when is not None else None
    if (item.value is not None and value is None) or (item.when is not None and when is None):
        return None
    rule = GroupRule(item.name, nickname.before.lower(), nickname.after.lower(), per_value,
                     exclusive=item.exclusive, remove_leavers=item.remove_leavers,
                     delete_empty_after_days=item.delete_empty_after_days)
    return CompiledGroupRule(rule, value.evaluate if value is not None else None, when,
                             item.managers, templates["displayName"], nickname,
                             templates.get("description"))
