"""What every command shares: error handling, consoles, NAME=VALUE options, the mapping."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, ParamSpec, TypeVar

import click

from connector.errors import EXIT_INTERNAL, ConfigError, ConnectorError
from connector.run.logs import fatal, forget_format

if TYPE_CHECKING:  # rich loads with the first command that prints a table
    from rich.console import Console
    from rich.progress import TaskID

P = ParamSpec("P")
R = TypeVar("R")

DEFAULT_MAPPING = Path("mappings") / "default.yaml"


def console(*, stderr: bool = False) -> Console:
    """A console for tables; wide enough to stay readable when piped to a file or mail."""
    from rich.console import Console

    width = None if sys.stdout.isatty() else 160
    return Console(stderr=stderr, width=width, highlight=False, soft_wrap=False)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn connector errors into a message and an exit code; never show a traceback.
    When the command set up JSON log lines (``run --log-format json``) the message is a
    JSON event on stderr too (``run.logs.fatal``)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        forget_format()  # errors are plain text until this command sets logging up
        try:
            return func(*args, **kwargs)
        except ConnectorError as exc:
            _fail(f"error: {exc.detailed()}", exc.detailed(), exc.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted", "interrupted", 130, event="interrupted")
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:  # a bug: say so plainly, keep the traceback for HRC_DEBUG
            if os.environ.get("HRC_DEBUG"):
                raise
            what = f"{type(exc).__name__}: {exc}"
            _fail(f"internal error: {what}\n"
                  "This is a bug in hr-connector; run again with HRC_DEBUG=1 to see where.",
                  f"{what} (a bug in hr-connector; HRC_DEBUG=1 shows where)", EXIT_INTERNAL,
                  event="internal error")

    return wrapper


def _fail(text: str, message: str, code: int, *, event: str = "run failed") -> NoReturn:
    if not fatal(message, exit_code=code, event=event):
        click.echo(text, err=True)
    sys.exit(code)


def parse_pairs(pairs: Sequence[str], option: str) -> list[tuple[str, str]]:
    """``NAME=VALUE`` options, in order; the value may be empty or hold ``=``."""
    parsed = []
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"{pair!r} is not NAME=VALUE", param_hint=option)
        parsed.append((name.strip(), value))
    return parsed


def param_option(func: Callable[P, R]) -> Callable[P, R]:
    """``--param NAME=VALUE`` (repeatable): set a mapping parameter for this run."""
    return click.option(
        "--param", "params", multiple=True, metavar="NAME=VALUE",
        help="Set a mapping parameter for this run (repeatable).")(func)


def mapping_path(given: str | None) -> Path:
    """The mapping to use: the one given, else mappings/default.yaml here."""
    if given:
        return Path(given)
    if DEFAULT_MAPPING.is_file():
        return DEFAULT_MAPPING
    raise ConfigError(
        "no mapping given and no mappings/default.yaml in this folder; pass --mapping FILE")


state_option = click.option(
    "--state-dir", type=click.Path(file_okay=False, path_type=Path),
    help="Where runs, logs and the sandbox tenant live (default $HRC_STATE_DIR or "
         "~/.hr-connector).")


class TerminalProgress:
    """A transient rich progress bar on stderr, for interactive runs only."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self._progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                  MofNCompleteColumn(), console=console(stderr=True),
                                  transient=True)
        self._task: TaskID | None = None

    def __enter__(self) -> TerminalProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def stage(self, name: str, total: int | None = None) -> None:
        """Finish the current bar and start one for ``name``."""
        if self._task is not None:
            self._progress.update(self._task, completed=self._progress.tasks[-1].total or 1,
                                  total=self._progress.tasks[-1].total or 1)
        self._task = self._progress.add_task(name, total=total)

    def advance(self, steps: int = 1) -> None:
        """Move the current bar."""
        if self._task is not None:
            self._progress.advance(self._task, steps)


def progress_for_terminal() -> TerminalProgress | contextlib.nullcontext[None]:
    """A progress bar when stderr is a terminal; nothing under cron or a pipe."""
    return TerminalProgress() if sys.stderr.isatty() else contextlib.nullcontext()
