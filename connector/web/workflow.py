"""What the upload page does with a file: check it, dry-run it, approve or reject it.

Nothing here is web-specific and nothing here holds a rule of its own: the checks are
``connector.core.validation`` with the mapping's schema, the dry run and the applied run are
``connector.run.sync.run_sync`` with the configuration's policies, exactly as the ``sync``
command runs them, against the configured tenant or the sandbox.

Approval applies the plan that was reviewed, not a new one: at approval the plan is made
again from the same stored file and compared with the reviewed one (summary and every
change); if the tenant has moved on in between, approval is refused until someone
reviews the new dry run; if not, that plan is the one applied. The check and the apply
run under the state directory's run lock, so a scheduled run cannot slip in between them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from connector.config import Account, Config
from connector.core import clock
from connector.core.plan import ACTIONS
from connector.core.validation import SourceSchema, schema_from_mapping
from connector.errors import ConnectorError, SourceError
from connector.mapping import CompiledMapping
from connector.readers import HEAD_BYTES, Reader, open_source, sniff_format
from connector.report.sync import sync_dict
from connector.report.validation import validation_dict
from connector.run.history import new_run_id
from connector.run.job import configured_mapping, options_from
from connector.run.lock import AlreadyRunning, RunLock
from connector.run.outputs import check_outputs, publish_configured, reports_folder
from connector.run.prepare import validate_file
from connector.run.sync import (
    SyncOptions,
    finish_run,
    plan_sync,
    planned_result,
    run_sync,
    start_trail,
)
from connector.run.tenant import open_config_tenant
from connector.web.store import Staged, Upload, UploadStore, now_iso

APPROVERS = frozenset({"approver", "admin"})
UPLOADERS = frozenset({"uploader", "admin"})


class Refused(Exception):
    """A request refused with an HTTP status and a message a person can act on."""

    def __init__(self, status: int, title: str, message: str, *,
                 back: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message
        #: Where the refusal page's "Back" link goes (default: the uploads list).
        self.back = back


def plan_fingerprint(report: Mapping[str, Any]) -> str:
    """A digest of what a plan would do: the counts per action and every change, without
    what only an applied run knows (outcomes, the ids Graph gives new users)."""
    changes = [{k: v for k, v in item.items()
                if k != "outcome" and not (k == "userId" and item["action"] == "create")}
               for item in report["changes"]]
    summary = {action: report["summary"][action] for action in ACTIONS}
    text = json.dumps({"summary": summary, "changes": changes}, sort_keys=True,
                      ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Workflow:
    """Uploads from arrival to applied run, for one configuration and state folder."""

    def __init__(self, config: Config, state: Path, store: UploadStore) -> None:
        self.config = config
        self.state = state
        self.runs = state / "runs"
        self.store = store
        mapping = configured_mapping(config)
        self.mapping: CompiledMapping = mapping
        self.schema: SourceSchema = schema_from_mapping(
            file=mapping.file, key=mapping.key, required=mapping.required_columns,
            manager=mapping.manager_column, countries=mapping.country_columns,
            dates=mapping.date_columns)
        # One pipeline run at a time in this process: runs against one tenant must not
        # interleave, and a compiled mapping is not meant to be shared between threads.
        self._busy = threading.Lock()

    def options(self, *, dry_run: bool) -> SyncOptions:
        """The sync options the configuration's policies describe (as for ``run``), for
        an uploaded file: its own format decides, so no configured sheet applies."""
        return dataclasses.replace(options_from(self.config, dry_run=dry_run), sheet=None)

    # --- arrival --------------------------------------------------------------------------

    def receive(self, staged: Staged, original_name: str, user: str) -> Upload:
        """Check a received file's content, keep it, validate it and dry-run it.

        A file that is not a spreadsheet we read (a PDF, a ZIP, a legacy .xls, unreadable
        text ...) is refused with the reader's reason and nothing is kept.
        """
        try:
            with staged.path.open("rb") as handle:
                fmt = sniff_format(staged.path, handle.read(HEAD_BYTES))
            typed = staged.path.with_name(f"{staged.id}.{fmt}")
            staged.path.rename(typed)
            staged = dataclasses.replace(staged, path=typed)
            # Checked before it is kept: a reader may read lazily from its path. (The
            # reader refuses a workbook that would unzip too far: readers.files.limits.)
            result = validate_file(self._open(typed, original_name), self.schema)
        except SourceError as exc:
            self.store.discard(staged)
            raise Refused(422, "This file cannot be used",
                          f"{original_name} {exc.message}") from None
        upload = self.store.accept(staged, fmt=fmt, original_name=original_name,
                                   uploaded_by=user)
        with self.store.editing(upload.id) as upload:
            upload.validation = validation_dict(result)
            if result.unusable:
                upload.status = "failed"
                upload.notice = "; ".join(p.reason for p in result.unusable)
                upload.event(user, "refused by the checks: " + upload.notice)
            else:
                upload.event(user, f"checked: {result.verdict}")
        if upload.status == "failed":
            return upload
        return self.review(upload.id, user)

    def _open(self, path: Path, name: str) -> Reader:
        reader = open_source(path, hint=self.schema.expected_columns)
        # Messages and reports name the file as people know it, not where it is stored.
        reader.name = name
        reader.warnings = [dataclasses.replace(w, file=name) for w in reader.warnings]
        return reader

    def _source(self, upload: Upload) -> Reader:
        path = self.store.source_path(upload)
        digest = hashlib.sha256()
        try:
            with path.open("rb") as handle:
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)
        except OSError as exc:
            raise Refused(500, "The stored file cannot be read", str(exc.strerror)) from None
        if digest.hexdigest() != upload.sha256:  # what was reviewed is what is applied
            raise Refused(409, "The stored file has changed", "The file on the server is "
                          "no longer the one uploaded (its SHA-256 differs); upload it again.")
        try:
            return self._open(path, f"upload {upload.id}: {upload.original_name}")
        except SourceError as exc:  # checked on arrival; only a damaged store gets here
            raise Refused(500, "The stored file cannot be read", exc.message) from None

    # --- the dry run ------------------------------------------------------------------------

    def review(self, upload_id: str, user: str) -> Upload:
        """Dry-run an upload (again); a failure is kept as the upload's notice."""
        with self._busy:
            upload = self._get(upload_id)
            if upload.status not in ("validated", "reviewed"):
                raise Refused(409, "Nothing to review", f"This upload is {upload.status}.")
            try:
                check_outputs(state=self.state)
                with open_config_tenant(self.config, self.state) as tenant:
                    result = run_sync(self._source(upload), self.mapping, tenant.graph,
                                      options=self.options(dry_run=True), tenant=tenant.label,
                                      runs_folder=self.runs)
            except ConnectorError as exc:
                with self.store.editing(upload_id) as upload:
                    upload.notice = f"The dry run could not run: {exc.detailed()}"
                    upload.event(user, upload.notice)
                return upload
            report = sync_dict(result)
            with self.store.editing(upload_id) as upload:
                upload.status = "reviewed"
                upload.review_run_id = result.run_id
                upload.review_fingerprint = plan_fingerprint(report)
                upload.review_summary = dict(report["summary"])
                upload.review_stopped = list(report["stopped"])
                upload.reviewed_at = now_iso()
                upload.review_outdated = False
                upload.notice = None
                upload.run_ids.append(result.run_id)
                upload.event(user, f"dry run {result.run_id}: {result.status}")
            return upload

    # --- approval ---------------------------------------------------------------------------

    def approval_block(self, upload: Upload, account: Account) -> tuple[int, str] | None:
        """Why ``account`` may not approve ``upload`` now (HTTP status, reason); None if
        it may."""
        if not APPROVERS & set(account.roles):
            return 403, "Only approvers and admins can approve an upload."
        if upload.status != "reviewed":
            return 409, f"This upload is {upload.status}; only a reviewed upload can be approved."
        if upload.uploaded_by == account.name and not self.config.serve.allow_self_approval:
            return 403, ("You uploaded this file, so someone else must approve it "
                         "(the configuration does not allow self-approval).")
        if upload.review_outdated:
            return 409, ("The tenant has changed since the dry run: run the dry run again "
                         "and review the new changes before approving.")
        if upload.review_stopped:
            return 409, ("The dry run was stopped by the safety checks, so it cannot be "
                         "applied: " + "; ".join(upload.review_stopped))
        if self.config.policies.dry_run:
            return 409, ("The configuration sets policies.dry_run: uploads can be reviewed "
                         "but nothing is applied.")
        return None

    def approve(self, upload_id: str, account: Account) -> Upload:
        """Apply a reviewed upload if the plan is still the one reviewed: the plan made
        now is compared with the reviewed one and, when they agree, that very plan is
        applied (``finish_run``), so nothing can change between the check and the apply."""
        with self._exclusive():
            upload = self._get(upload_id)
            block = self.approval_block(upload, account)
            if block is not None:
                raise Refused(block[0], "This upload cannot be approved", block[1])
            try:
                check_outputs(state=self.state,
                              reports_folder=reports_folder(self.config, self.state))
            except ConnectorError as exc:
                raise Refused(500, "The run cannot write its records", exc.message) from None
            options = self.options(dry_run=False)
            with open_config_tenant(self.config, self.state) as tenant:
                started = clock.now()
                name = f"upload {upload.id}: {upload.original_name}"
                plan, warnings = plan_sync(self._source(upload), self.mapping, tenant.graph,
                                           options=options, now=started)
                check = planned_result(plan, options=dataclasses.replace(options, dry_run=True),
                                       run_id="approval-check", source=upload.original_name,
                                       mapping=self.mapping.file, tenant=tenant.label,
                                       started=started, warnings=warnings)
                if plan_fingerprint(sync_dict(check)) != upload.review_fingerprint:
                    with self.store.editing(upload_id) as upload:
                        upload.review_outdated = True
                        upload.event(account.name, "approval refused: the plan changed "
                                                   "since the dry run")
                    raise Refused(409, "The plan has changed since it was reviewed",
                                  "The tenant is no longer as it was at the dry run, so "
                                  "applying now would make other changes than the ones "
                                  "reviewed. Run the dry run again, review the new "
                                  "changes, then approve.")
                with self.store.editing(upload_id) as upload:
                    if upload.status != "reviewed":  # rejected meanwhile (no lock for that)
                        raise Refused(409, "This upload cannot be approved",
                                      f"This upload is {upload.status}.")
                    upload.status = "approved"
                    upload.approved_by = account.name
                    upload.approved_at = now_iso()
                    upload.event(account.name, "approved")
                try:
                    with start_trail(self.runs, run_id=new_run_id(started), started=started,
                                     dry_run=False, source=name, mapping=self.mapping.file,
                                     tenant=tenant.label) as trail:
                        result = finish_run(plan, tenant.graph, trail=trail, options=options,
                                            matching=self.mapping.matching[0],
                                            warnings=warnings)
                except ConnectorError as exc:
                    with self.store.editing(upload_id) as upload:
                        upload.status, upload.review_outdated = "reviewed", True
                        upload.approved_by = upload.approved_at = None
                        upload.notice = f"Applying failed: {exc.detailed()}"
                        upload.event(account.name, upload.notice)
                    raise Refused(502, "Applying failed", upload.notice) from None
        # Like `run`: the configured reports, and history kept only as long as configured.
        publish_configured(result, self.config, self.state)
        with self.store.editing(upload_id) as upload:
            upload.status = "reviewed" if result.stopped else "applied"
            upload.applied_run_id = result.run_id
            upload.applied_status = result.status
            upload.run_ids.append(result.run_id)
            upload.event(account.name, f"applied as run {result.run_id}: {result.status}")
        return upload

    def reject(self, upload_id: str, account: Account) -> Upload:
        """Close an upload without applying it."""
        with self.store.editing(upload_id) as upload:
            if upload.status not in ("validated", "reviewed", "failed"):
                raise Refused(409, "This upload cannot be rejected",
                              f"This upload is {upload.status}.")
            upload.status = "rejected"
            upload.rejected_by = account.name
            upload.rejected_at = now_iso()
            upload.event(account.name, "rejected")
        return upload

    # --- helpers ----------------------------------------------------------------------------

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """This process's pipeline lock, then the state folder's run lock (cron runs)."""
        with self._busy:
            lock = RunLock(self.state)
            try:
                lock.__enter__()
            except AlreadyRunning as exc:
                raise Refused(409, "Another run is in progress", exc.message) from None
            try:
                yield
            finally:
                lock.__exit__(None, None, None)

    def _get(self, upload_id: str) -> Upload:
        upload = self.store.get(upload_id)
        if upload is None:
            raise Refused(404, "No such upload", "There is no upload with this id.")
        return upload

