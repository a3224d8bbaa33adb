"""Loads a mapping file and compiles all of it, reporting every problem at once.

A typo must fail when the mapping loads, not at row 40,000 at 2 a.m.: the YAML is checked
against the schema, every expression compiled, every target property, parameter, operator
and column name checked, and all problems raised together in one ``MappingError``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from connector.errors import ConfigError, EvaluationError, MappingError
from connector.mapping.engine import CompiledMapping, CompiledRule
from connector.mapping.expr import (
    FALSE,
    TRUE,
    EvalContext,
    Expression,
    SharedCalls,
    compile_expression,
)
from connector.mapping.groups import CompiledGroups, compile_groups
from connector.mapping.scim import scim_problems, scim_target
from connector.mapping.scoping import any_holds, compile_filters
from connector.mapping.spec import Condition, MappingSpec, Rule
from connector.mapping.targets import Target, converter, lookup, unknown_target_message
from connector.mapping.yaml_errors import yaml_problem

Values = Mapping[str, str | None]


def load_mapping(path: str | Path, *, params: Mapping[str, str] | None = None) -> CompiledMapping:
    """Read, validate and compile a mapping file; ``params`` override its parameters."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"mapping file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"mapping file {path} cannot be read: {exc}") from None
    return compile_mapping_text(text, file=str(path), params=params)


def compile_mapping_text(
    text: str, *, file: str = "<mapping>", params: Mapping[str, str] | None = None
) -> CompiledMapping:
    """Compile mapping YAML held in memory (the tests and the upload page use this)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise MappingError(f"YAML syntax error: {yaml_problem(exc)}", file=file) from None
    if not isinstance(data, dict):
        raise MappingError("a mapping file must be a YAML mapping of keys to values", file=file)
    try:
        spec = MappingSpec.model_validate(data)
    except ValidationError as exc:
        errors = [
            MappingError(_pydantic_message(err), file=file,
                         rule=".".join(str(p) for p in err["loc"]) or None)
            for err in exc.errors()
        ]
        raise MappingError(f"{len(errors)} problem(s) in the mapping", file=file,
                           errors=errors) from None
    return compile_spec(spec, file=file, params=params)


def _pydantic_message(err: Any) -> str:
    message = str(err["msg"])
    if err["type"] == "extra_forbidden":
        return "unknown key (misspelt?)"
    return message.removeprefix("Value error, ")


def compile_spec(
    spec: MappingSpec, *, file: str, params: Mapping[str, str] | None = None
) -> CompiledMapping:
    """Compile a validated spec; every problem is collected before raising."""
    errors: list[MappingError] = []
    merged = dict(spec.parameters)
    for name, value in (params or {}).items():
        if name not in spec.parameters:
            known = ", ".join(spec.parameters) or "none"
            raise ConfigError(f"unknown parameter {name!r} for {file} (its parameters: {known})")
        merged[name] = value
    columns: set[str] = {spec.source.key}
    texts = [rule.expression for rule in spec.attributes.values() if rule.expression]
    if spec.leaver is not None and spec.leaver.when.expression:
        texts.append(spec.leaver.when.expression)
    shared = SharedCalls(texts)  # sub-expressions rules share: evaluated once a record

    def compile_text(text: str, rule: str) -> Expression | None:
        try:
            expression = compile_expression(text, shared, empty_is_null=True)
        except MappingError as exc:
            errors.extend(e.located(file=file, rule=rule) for e in (exc.errors or [exc]))
            return None
        for name in sorted(expression.parameters - set(merged)):
            errors.append(MappingError(
                f"unknown parameter [%{name}%]; declare it under parameters:",
                file=file, rule=rule, expression=text, position=text.find(f"%{name}%")))
        # An empty parameter would put nothing (or, before, the text "None") into every
        # value built from it, a UPN "jane.doe@" say: a run needs a value.
        for name in sorted(n for n in expression.parameters & set(merged)
                           if not merged[n].strip()):
            errors.append(MappingError(
                f"the parameter {name} is empty but this rule uses it: give it a value "
                f"(parameters: in the mapping or the configuration, or --param {name}=...)",
                file=file, rule=rule, expression=text, position=text.find(f"%{name}%")))
        columns.update(expression.references)
        return expression

    rules: dict[str, CompiledRule] = {}
    scim = spec.target == "scim"
    extensions = tuple(spec.scim.extensions) if spec.scim else ()
    for name, rule in spec.attributes.items():
        target = lookup(name) if not scim else scim_target(name, extensions)
        if not isinstance(target, Target):
            errors.append(MappingError(target or unknown_target_message(name), file=file,
                                       rule=f"attributes.{name}"))
            continue
        compiled = _compile_rule(rule, f"attributes.{name}", compile_text, columns)
        if compiled is not None:
            evaluate, text, unique, reads, memo = compiled
            rules[name] = CompiledRule(target, evaluate, rule.default,
                                       rule.apply == "on_create", unique, text,
                                       column=rule.source, convert=converter(target),
                                       columns=reads, memo=memo)
    errors.extend(MappingError(problem, file=file, rule=rule)
                  for rule, problem in scim_problems(spec))
    for name in spec.matching if not scim else ():
        if name not in spec.attributes:
            errors.append(MappingError(
                f"matching attribute {name!r} has no rule under attributes:", file=file,
                rule="matching"))
        elif spec.attributes[name].apply == "on_create":
            errors.append(MappingError(
                f"matching attribute {name!r} must apply always, not only on create",
                file=file, rule="matching"))
    scope, scope_problems = compile_filters(spec.scope)
    errors.extend(MappingError(p, file=file, rule="scope") for p in scope_problems)
    managed, managed_problems = compile_filters(spec.managed)
    errors.extend(MappingError(p, file=file, rule="managed") for p in managed_problems)
    for item in managed:
        for clause in item.clauses:
            if lookup(clause.attribute) is None and clause.attribute not in ("id", "mail"):
                errors.append(MappingError(
                    f"managed: {unknown_target_message(clause.attribute)}", file=file,
                    rule="managed"))
    columns.update(c.attribute for f in scope for c in f.clauses)
    leaver = None
    if spec.leaver is not None:
        leaver = _compile_condition(spec.leaver.when, "leaver.when", compile_text, columns,
                                    errors, file)
    if spec.manager is not None:
        columns.add(spec.manager.source)
    groups: CompiledGroups | None = None
    if spec.groups is not None:
        groups = compile_groups(
            spec.groups, compile_text=compile_text, has_manager=spec.manager is not None,
            compile_condition=lambda condition, where: _compile_condition(
                condition, where, compile_text, columns, errors, file),
            errors=errors, file=file)
    if errors:
        raise MappingError(f"{len(errors)} problem(s) in the mapping", file=file, errors=errors)
    optional = tuple(spec.source.optional_columns)
    required = tuple(sorted(c for c in columns if c not in optional and c != spec.source.key))
    return CompiledMapping(
        file=file, key=spec.source.key, rules=rules,
        matching=("externalId",) if scim else tuple(spec.matching),
        scope=tuple(scope), leaver=leaver,
        delete_after_days=spec.leaver.delete_after_days if spec.leaver else None,
        manager_column=spec.manager.source if spec.manager else None, params=merged,
        partial=spec.source.partial, required_columns=(spec.source.key, *required),
        optional_columns=optional, country_columns=tuple(spec.source.country_columns),
        date_columns=tuple(spec.source.date_columns), description=spec.description,
        managed=tuple(managed), target=spec.target, scim_extensions=extensions,
        groups=groups,
        shared=shared,
    )


Evaluate = Callable[[Values, EvalContext], Any]


def _compile_rule(
    rule: Rule, where: str, compile_text: Callable[[str, str], Expression | None],
    columns: set[str],
) -> tuple[Evaluate, str, bool, frozenset[str], tuple[str, ...]] | None:
    """The rule's evaluation, its text, whether it picks unique values, the columns it
    reads, and the columns its results are remembered by (none: not memoised)."""
    if rule.source is not None:
        column = rule.source
        columns.add(column)
        return ((lambda values, context: values.get(column) or None), f"[{column}]", False,
                frozenset({column}), ())
    if rule.constant is not None:
        constant = rule.constant
        return (lambda values, context: constant), f'"{constant}"', False, frozenset(), ()
    assert rule.expression is not None
    expression = compile_text(rule.expression, where)
    if expression is None:
        return None
    # A deterministic rule is remembered per run by what it reads (the engine's _Memo).
    memo = tuple(sorted(expression.references)) if expression.deterministic else ()
    return (expression.evaluate, expression.text, expression.uses_unique,
            frozenset(expression.references), memo)


def _compile_condition(
    condition: Condition, where: str, compile_text: Callable[[str, str], Expression | None],
    columns: set[str], errors: list[MappingError], file: str,
) -> Callable[[Values, EvalContext], bool] | None:
    if condition.filters is not None:
        filters, problems = compile_filters(condition.filters)
        errors.extend(MappingError(p, file=file, rule=where) for p in problems)
        columns.update(c.attribute for f in filters for c in f.clauses)
        today: list[Any] = [None, None]  # the context last seen, and its day

        def holds_filters(values: Values, context: EvalContext) -> bool:
            if today[0] is not context:
                today[:] = [context, context.now.date()]
            return any_holds(filters, values, today[1])

        return holds_filters
    assert condition.expression is not None
    expression = compile_text(condition.expression, where)
    if expression is None:
        return None
    compiled = expression

    def holds(values: Values, context: EvalContext) -> bool:
        result = compiled.evaluate(values, context)
        if result in (TRUE, FALSE):
            return result == TRUE
        raise EvaluationError(f"must give True or False, gave {result!r}")

    return holds
