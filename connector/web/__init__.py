"""The HR upload page (``hr-connector serve``): sign in, upload a CSV or XLSX export, see
its checks and the dry-run diff, and have an approver apply it.

Modules: ``app`` (routes), ``guard`` (who may do what, forms, CSRF, headers), ``auth``
(passwords, signed sessions, throttling), ``session`` (the cookie), ``store`` (uploads on
disk), ``workflow`` (check, dry run, approve: the ``sync`` pipeline), ``pages`` and
``pages_upload`` (HTML), ``cli`` (the ``serve`` command). Nothing is imported here, so
the command line can load ``cli`` without starting Starlette.
"""
