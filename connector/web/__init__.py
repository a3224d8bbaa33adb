"""The HR upload page (``hr-connector serve``): sign in, upload a CSV or XLSX export, see
its checks and the dry-run diff, and have an approver apply it.

Modules: ``app`` (routes), ``guard`` (who may do what, forms, CSRF, headers, rendering a
page), ``auth`` (passwords, signed sessions, throttling), ``session`` (the cookie),
``store`` (uploads on disk), ``workflow`` (check, dry run, approve: the ``sync``
pipeline), ``pages`` (the Jinja2 templates in ``templates/``). The ``serve`` command is
``connector.cli.serve``; nothing is imported here, so the command line loads Starlette
only when it serves.
"""
