"""``python -m connector`` runs the command line."""

from connector.cli.main import run

run()
