"""What the upload page does with a file: check it, dry-run it, reject or withdraw it
(approval and its recovery: ``connector.web.approval``).

Nothing here is web-specific and nothing here holds a rule of its own: the checks are
``connector.core.validation`` with the mapping's schema, the dry run and the applied run are
``connector.run.sync`` with the configuration's policies, exactly as the ``sync`` command
runs them, against the configured tenant or the sandbox.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from connector.config import Account, Config
from connector.core.plan import ACTIONS
from connector.core.plan.group_model import GROUP_WRITES
from connector.core.validation import SourceSchema
from connector.errors import ConnectorError, SourceError
from connector.mapping import CompiledMapping
from connector.readers import HEAD_BYTES, Reader, open_source, sniff_format
from connector.report.sync import sync_dict
from connector.report.validation import validation_dict
from connector.run.job import configured_mapping, options_from
from connector.run.lock import AlreadyRunning, RunLock
from connector.run.outputs import check_outputs
from connector.run.prepare import mapping_schema, validate_file
from connector.run.sync import SyncOptions, run_sync
from connector.run.tenant import Tenant, open_config_tenant
from connector.web.store import GROUP_WRITES_KEY, Staged, Upload, UploadStore, now_iso

APPROVERS = frozenset({"approver", "admin"})
#: What may be dry-run (again): an interrupted apply is checked again before approval.
REVIEWABLE = ("validated", "reviewed", "interrupted")
#: What may be rejected or withdrawn.
CLOSABLE = ("validated", "reviewed", "failed", "interrupted")
UPLOADERS = frozenset({"uploader", "admin"})


class Refused(Exception):
    """A request refused with an HTTP status and a message a person can act on."""

    def __init__(self, status: int, title: str, message: str, *,
                 back: str | None = None, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message
        #: Where the refusal page's "Back" link goes (default: the uploads list).
        self.back = back
        #: Seconds a client should wait before trying again (``Retry-After``).
        self.retry_after = retry_after


def plan_fingerprint(report: Mapping[str, Any]) -> str:
    """A digest of what a plan would do: the counts per action and every change, without
    what only an applied run knows (outcomes, the ids Graph gives new users)."""
    changes = [{k: v for k, v in item.items()
                if k != "outcome" and not (k == "userId" and item["action"] == "create")}
               for item in report["changes"]]
    summary = {action: report["summary"][action] for action in ACTIONS}
    # Group changes too, without outcomes and the ids Graph gives new groups.
    groups = [{k: v for k, v in item.items()
               if k != "outcome" and not (k == "groupId" and item["action"] == "create")}
              for item in (report.get("groups") or {}).get("changes", [])]
    payload: dict[str, Any] = {"summary": summary, "changes": changes}
    if groups:  # absent when there are none: fingerprints made before groups still match
        payload["groups"] = groups
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
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
        self.schema: SourceSchema = mapping_schema(mapping)
        # One pipeline run at a time in this process: runs against one tenant must not
        # interleave, and a compiled mapping is not meant to be shared between threads.
        self._busy = threading.Lock()
        #: Uploads this process is applying now (``approval.settle`` leaves them alone).
        self.applying: set[str] = set()

    def open_tenant(self) -> AbstractContextManager[Tenant]:
        """The configured tenant (or the sandbox the configuration names)."""
        return open_config_tenant(self.config, self.state)

    def options(self, *, dry_run: bool) -> SyncOptions:
        """The sync options the configuration's policies describe (as for ``run``), for
        an uploaded file: its own format decides, so no configured sheet applies."""
        return dataclasses.replace(options_from(self.config, dry_run=dry_run), sheet=None,
                                   state=self.state)

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

    def source(self, upload: Upload) -> Reader:
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
            upload = self.get(upload_id)
            if upload.status not in REVIEWABLE:
                raise Refused(409, "Nothing to review", f"This upload is {upload.status}.")
            try:
                check_outputs(state=self.state)
                with self.open_tenant() as tenant:
                    result = run_sync(self.source(upload), self.mapping, tenant.graph,
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
                group_writes = sum(
                    1 for item in (report.get("groups") or {}).get("changes", [])
                    if item["action"] in GROUP_WRITES)
                if group_writes:
                    upload.review_summary[GROUP_WRITES_KEY] = group_writes
                upload.review_stopped = list(report["stopped"])
                upload.reviewed_at = now_iso()
                upload.review_outdated = False
                upload.notice = None
                upload.run_ids.append(result.run_id)
                upload.event(user, f"dry run {result.run_id}: {result.status}")
            return upload

    def reject(self, upload_id: str, account: Account) -> Upload:
        """Close an upload without applying it: withdrawn when whoever uploaded it closes
        it, rejected when someone else does. Writes an interrupted apply made stay."""
        with self.store.editing(upload_id) as upload:
            own = upload.uploaded_by == account.name
            if upload.status not in CLOSABLE:
                raise Refused(409, f"This upload cannot be {'withdrawn' if own else 'rejected'}",
                              f"This upload is {upload.status}.")
            upload.status = "withdrawn" if own else "rejected"
            upload.rejected_by = account.name
            upload.rejected_at = now_iso()
            upload.event(account.name, upload.status)
        return upload

    # --- helpers ----------------------------------------------------------------------------

    @contextmanager
    def exclusive(self) -> Iterator[None]:
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

    def get(self, upload_id: str) -> Upload:
        upload = self.store.get(upload_id)
        if upload is None:
            raise Refused(404, "No such upload", "There is no upload with this id.")
        return upload

