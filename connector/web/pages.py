"""The upload page's HTML: Jinja2 templates in ``templates/``, rendered by Starlette's
``Jinja2Templates`` with autoescape. Pure: templates receive data, never HTML.

Every ``{{ value }}`` is escaped (``connector.report.html.as_html``: quotes too, so values
are safe in attributes), HR data and names of uploaded files above all; only the
templates' own macros produce ``Markup``. The pages run no script: the
Content-Security-Policy (``CSP``) allows only ``templates/page.css``, by hash, and images
(the favicon) from this site; filters and pages are links and GET forms. Forms all carry
the session's CSRF token (the ``csrf_field`` macro).

Templates: ``layout`` (the bar: links by role, who is signed in, sign out; a one-time
notice), ``login``, ``refusal`` (403, 404, 409, 413 ... saying why and what to do),
``uploads``, ``upload_form``, ``upload`` (one upload: checks per row, the dry run's
counts, held disables, apply attempts, approve, check again, reject or withdraw, and the
diff per user from ``_diff``), ``result`` (an applied run: the diff with outcomes),
``log`` (a run's provisioning log, a page at a time) and ``admin`` (accounts and roles,
never hashes; the settings in force). ``favicon.svg`` is the icon.
"""

from __future__ import annotations

from collections.abc import Mapping

from markupsafe import Markup
from starlette.templating import Jinja2Templates

from connector.core.plan.group_model import GROUP_LABELS
from connector.report.html import (
    headline,
    outcome_text,
    sha256_source,
    template_environment,
    template_text,
)
from connector.web.diff import page_numbers
from connector.web.store import GROUP_WRITES_KEY

# On lines of its own between the tags: the text the CSP hashes starts with a newline.
CSS = "\n" + template_text(__package__, "page.css")

#: No script at all; only this style; frames and forms only to this site; never framed.
CSP = (f"default-src 'none'; style-src '{sha256_source(CSS)}'; img-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
#: The icon every page names (``/favicon.svg``, also answered at ``/favicon.ico``).
FAVICON = template_text(__package__, "favicon.svg").encode("utf-8")

ACTIONS = ("create", "update", "disable", "enable", "delete", "manager", "unchanged",
           "skipped", "error", "held")
#: The actions that write to the tenant (what an approval applies).
WRITE_ACTIONS = ACTIONS[:6]
#: The counts an applied run's page shows.
RESULT_COUNTS = (*ACTIONS, "written", "failed")

#: What the checks of an upload concluded, for people.
VERDICTS = {"clean": "Every record can be used.",
            "errors": "Some records have errors: the accounts they name are left alone and "
                      "{absent}; those changes are held back (see the dry run). The other "
                      "records can be synced.",
            "unusable": "The file cannot be used."}
#: What happens to people missing from a file with errors (connector.core.plan.flawed),
#: by the configuration's ``policies.allow_absent_disables``.
ABSENT = {True: "people missing from the file are disabled all the same (the configuration "
                "allows it)",
          False: "while a row has a blank or repeated key, nobody is disabled for being "
                 "missing from the file"}


def verdict(name: str, *, allow_absent_disables: bool) -> str:
    """The checks' verdict for people; for rows with errors, what really happens to them
    and to everyone they could be."""
    return VERDICTS.get(name, "").format(absent=ABSENT[allow_absent_disables])


def count_writes(summary: Mapping[str, int]) -> int:
    """How many writes a dry run's summary holds (what approving it applies), group
    writes included."""
    return sum(summary.get(action, 0) for action in (*WRITE_ACTIONS, GROUP_WRITES_KEY))


TEMPLATES = Jinja2Templates(env=template_environment(__package__))
TEMPLATES.env.globals.update(
    css=Markup(CSS),  # noqa: S704 (ours, hashed in the CSP)
    actions=ACTIONS, write_actions=WRITE_ACTIONS, result_counts=RESULT_COUNTS,
    verdict=verdict, count_writes=count_writes, headline=headline, outcome_text=outcome_text,
    page_numbers=page_numbers, group_labels=GROUP_LABELS)
