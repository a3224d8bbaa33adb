"""The ``hr-connector`` command line: a thin layer over the library, one module per
command group (``main`` holds the group and the source commands)."""

from connector.cli.common import handle_errors
from connector.cli.main import main, run
from connector.errors import EXIT_INTERNAL

__all__ = ["EXIT_INTERNAL", "handle_errors", "main", "run"]
