"""Declarative attribute mapping: HR record -> desired Entra ID user. Pure.

``load_mapping(path)`` reads a YAML mapping (format in mappings/README.md), compiles every
expression and checks every name, raising one ``MappingError`` that lists all problems.
``CompiledMapping.map_record(record, context)`` then turns records into ``MappedRecord``
values: in scope or not (and why), leaver or not, the attribute values Graph will store,
the manager's HR key, and per-record errors.
"""

from connector.core.records import MappedRecord, nest
from connector.mapping.engine import CompiledMapping, CompiledRule
from connector.mapping.expr import EvalContext, StubDirectory
from connector.mapping.loader import compile_mapping_text, load_mapping

__all__ = [
    "CompiledMapping",
    "CompiledRule",
    "EvalContext",
    "MappedRecord",
    "StubDirectory",
    "compile_mapping_text",
    "load_mapping",
    "nest",
]
