"""The HR upload page (``hr-connector serve``): sign in, upload a CSV or XLSX export, see
its checks and the dry-run diff, and have an approver apply it.

Modules: ``app`` (builds the app), ``signin`` and ``views`` (routes), ``guard`` (who may
do what, forms, CSRF, headers, rendering a page), ``auth`` (passwords, signed sessions,
revocations), ``throttle`` (sign-in delays, failed sign-ins), ``session`` (the cookie),
``limits`` (body deadlines, concurrent uploads), ``server`` (uvicorn's settings and the
header deadline), ``store`` (uploads on disk), ``workflow`` (check, dry run, reject:
the ``sync`` pipeline), ``approval`` (apply the reviewed plan; settle an unfinished
apply), ``diff`` (the reviewer's view per user), ``pages`` (the Jinja2 templates in
``templates/``). The ``serve`` command is ``connector.cli.serve``; nothing is imported
here, so the command line loads Starlette only when it serves.
"""
