"""What went wrong in a YAML file, said so that the person who edits it can fix it.

PyYAML reports the parser's view ("found character '\\t' that cannot start any token",
"expected <block end>, but found '<block mapping start>'"); :func:`yaml_problem` names the
cause and where it is, for the mapping files and the configuration file alike. Line and
column numbers count from 1, as editors show them.
"""

from __future__ import annotations

import yaml
from yaml.reader import ReaderError

__all__ = ["yaml_problem"]


def _at(mark: object) -> str:
    line, column = getattr(mark, "line", None), getattr(mark, "column", None)
    if not isinstance(line, int) or not isinstance(column, int):
        return ""
    return f"line {line + 1}, column {column + 1}"


def yaml_problem(exc: yaml.YAMLError) -> str:
    """The cause of a YAML syntax error and where it is, in words (no trailing period)."""
    if isinstance(exc, ReaderError):
        return (f"character #x{exc.character:04x} at position {exc.position + 1} cannot be "
                "in a YAML file (a control character: was the file saved as text?)")
    problem = str(getattr(exc, "problem", None) or exc).strip()
    context = str(getattr(exc, "context", None) or "")
    where = _at(getattr(exc, "problem_mark", None))
    opened = _at(getattr(exc, "context_mark", None))
    at = f" at {where}" if where else ""
    if "'\\t'" in problem:
        return f"a tab{at}; YAML indents with spaces, not tabs"
    if "cannot start any token" in problem:
        char = problem.removeprefix("found character ").split(" that", 1)[0]
        return (f"{char}{at} cannot start a value; put the value in quotes "
                "(\"...\") when it starts with @, ` or %")
    if problem == "mapping values are not allowed here":
        return (f"a ':' that YAML cannot place{at}: put a value holding ': ' in quotes, "
                "or check that this line is indented like the keys beside it")
    if "quoted scalar" in context and "end of stream" in problem:
        return f"a quote opened at {opened} is never closed"
    if problem.startswith("expected <block end>"):
        return (f"the indentation{at} does not line up with the lines above it "
                "(keys of one mapping must start in the same column)")
    if context.startswith("while parsing a flow"):
        bracket = "[" if "sequence" in context else "{"
        return (f"a '{bracket}' opened at {opened} is not closed as YAML expects "
                f"({problem}{at})")
    if problem.startswith("found undefined alias"):
        return (f"{problem.removeprefix('found ')}{at}: a value starting with * must be "
                "in quotes")
    return f"{problem}{at}" + (f" ({context} from {opened})" if context and opened else "")
