"""The ``hr-connector`` command line: a thin layer over the library, one module per
command group (``main`` holds the group and the source commands)."""

from connector.cli.common import EXIT_INTERNAL, handle_errors
from connector.cli.main import main, run

__all__ = ["EXIT_INTERNAL", "handle_errors", "main", "run"]
