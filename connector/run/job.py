"""One whole run from the configuration file: what cron, systemd and the drop folder run.

``run_job`` checks every place the run will write (state, runs and reports folders, the
drop folder's sub-folders) before anything else, takes the single-instance lock, loads the
mapping, opens the tenant the configuration names (``tenant: sandbox`` or a ``tenant:``
section), reads the source it names (a file, each new file of a drop folder in arrival
order, or an HR API), syncs, writes the configured reports, logs one line per event, and
prunes what retention no longer keeps (not on a dry run). It returns the exit code of the
worst outcome: 0 ok, 1 some records or writes failed (or a dropped file was rejected),
3 a safety threshold stopped a sync.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from connector.config import Config
from connector.core.plan.safety import POLICY_NAMES, Thresholds
from connector.core.results import SyncResult
from connector.errors import EXIT_OK, EXIT_RECORD_ERRORS, EXIT_SAFETY, ConfigError, SourceError
from connector.graph import GraphClient
from connector.mapping import CompiledMapping, load_mapping
from connector.run.dropfolder import DropFolder, Taken
from connector.run.history import state_dir
from connector.run.lock import RunLock
from connector.run.logs import log
from connector.run.outputs import check_outputs, prune, publish_configured, reports_folder
from connector.run.prepare import Source, open_checked
from connector.run.snapshot import DeltaReads
from connector.run.sync import Progress, SyncOptions, run_sync
from connector.run.tenant import open_config_tenant

OnResult = Callable[[SyncResult], None]


def options_from(config: Config, *, dry_run: bool | None = None,
                 full_read: bool = False) -> SyncOptions:
    """The sync options a configuration's policies describe; messages about thresholds
    name the policy keys (``policies.max_disables``). The tenant is read through the
    state folder's snapshot (``delta:``) unless ``full_read``."""
    p = config.policies
    return SyncOptions(
        dry_run=p.dry_run if dry_run is None else dry_run,
        thresholds=Thresholds(max_disables=p.max_disables,
                              max_disable_percent=p.max_disables_percent,
                              max_changes=p.max_changes,
                              max_change_percent=p.max_changes_percent,
                              min_source_percent=p.min_source_percent,
                              max_member_removals=p.max_member_removals,
                              max_member_removal_percent=p.max_member_removals_percent,
                              names=POLICY_NAMES),
        prehire_days=p.prehire_days, sheet=config.source.sheet if config.source else None,
        default_domain=p.default_domain, allow_absent_disables=p.allow_absent_disables,
        delta=DeltaReads(config.paths.state or state_dir(),
                         full_read_days=config.delta.full_read_days, full_read=full_read))


def configured_mapping(config: Config) -> CompiledMapping:
    """The configuration's mapping with its parameters and ``partial_feed`` applied."""
    mapping = load_mapping(config.mapping, params=config.parameters)
    if config.policies.partial_feed is not None:
        mapping = dataclasses.replace(mapping, partial=config.policies.partial_feed)
    return mapping


def run_job(
    config: Config, *, dry_run: bool | None = None, on_result: OnResult | None = None,
    progress: Progress | None = None, full_read: bool = False,
) -> int:
    """Run the configured job once; returns the exit code (see the module docstring).
    ``full_read``: read the whole tenant rather than its delta since the last run."""
    if config.source is None:
        raise ConfigError(f"{config.file} has no source: section (a file, folder or api)")
    state = config.paths.state or state_dir()
    options = options_from(config, dry_run=dry_run, full_read=full_read)
    mapping = configured_mapping(config)  # no write yet: a bad mapping leaves no trace
    # A single file that cannot be used stops the run before any folder, lock or tenant.
    source = config.source
    opened = None
    if source.folder is None and source.api is None and source.file is not None:
        try:
            opened = open_checked(source.file, mapping, sheet=options.sheet)
        except SourceError as exc:
            log("source unusable", level=logging.ERROR, reason=exc.detailed())
            raise
    check_outputs(state=state, reports_folder=reports_folder(config, state))
    drop = (DropFolder.from_config(config.source.folder)
            if config.source.folder is not None else None)
    if drop is not None and not options.dry_run:
        drop.check_outputs()
    with RunLock(state):
        with open_config_tenant(config, state) as tenant:
            log("run started", tenant=tenant.label, mapping=str(config.mapping),
                dry_run=options.dry_run)
            job = _Job(mapping, tenant.graph, tenant.label, options, state, config,
                       on_result, progress)
            if drop is not None:
                code = job.drop_folder(drop)
            elif source.api is not None:
                from connector.readers.apis.presets import open_api_source

                code = job.one(open_api_source(source.api.preset, source.api.settings,
                                                secrets=config.secret_resolver()))
            else:
                assert opened is not None
                code = job.one(opened)
        if not options.dry_run:  # a dry run deletes nothing either
            prune(config, state)  # also when a drop folder had nothing new
    return code


@dataclasses.dataclass
class _Job:
    mapping: CompiledMapping
    graph: GraphClient
    tenant: str
    options: SyncOptions
    state: Path
    config: Config
    on_result: OnResult | None
    progress: Progress | None = None

    def sync(self, source: Source) -> SyncResult:
        if self.config.target is not None:  # API-driven inbound provisioning
            result = self._scim(source)
        else:
            result = run_sync(source, self.mapping, self.graph, options=self.options,
                              tenant=self.tenant, runs_folder=self.state / "runs",
                              progress=self.progress)
        for earlier in result.follows:
            log("follows interrupted run", level=logging.WARNING, run_id=result.run_id,
                interrupted=earlier)
        summary = {k: v for k, v in result.plan.summary.items() if v}
        log("run finished", level=logging.WARNING if result.exit_code else logging.INFO,
            run_id=result.run_id, status=result.status, source=result.source,
            failed=len(result.failed), **summary)
        for reason in result.stopped:
            log("safety stop", level=logging.ERROR, run_id=result.run_id, reason=reason)
        if self.on_result:
            self.on_result(result)
        return result

    def _scim(self, source: Source) -> SyncResult:
        from connector.run.scim import ScimOptions, run_scim_sync

        target = self.config.target
        assert target is not None
        scim = ScimOptions(bulk_upload_url=target.bulk_upload_url, full=target.full,
                           wait=target.wait_minutes * 60, payloads=target.payloads,
                           url_name=f"target.bulk_upload_url in {self.config.file}",
                           sandbox=self.config.entra_tenant is None)
        result = run_scim_sync(source, self.mapping, self.graph, options=self.options,
                               scim=scim, tenant=self.tenant, state_folder=self.state,
                               progress=self.progress)
        if result.provisioning:
            log("provisioning outcomes", run_id=result.run_id,
                **result.provisioning.get("outcomes", {}))
        return result

    def one(self, source: Source) -> int:
        try:
            result = self.sync(source)
        except SourceError as exc:
            log("source unusable", level=logging.ERROR, reason=exc.detailed())
            raise
        publish_configured(result, self.config, self.state, prune_history=False)
        return result.exit_code

    def drop_folder(self, folder: DropFolder) -> int:
        # One look, and one more after stable_seconds for files still being written: a
        # cron run is short-lived, so it cannot wait for the next call to see them again.
        if not self.options.dry_run:
            folder.clear_work()  # copies a crashed run left behind
        candidates = folder.pending(wait=True)
        for name, reason in folder.skipped():
            log("file skipped", file=name, reason=reason)
        if not candidates:
            log("drop folder: nothing new", folder=str(folder.folder))
        worst = EXIT_OK
        # A dry run must write nothing in the drop folder: its copies go to a temporary
        # folder of its own.
        with (tempfile.TemporaryDirectory(prefix="hrc-dry-run-") if self.options.dry_run
              else contextlib.nullcontext(None)) as scratch:
            work = Path(scratch) if scratch else None
            for candidate in candidates:
                taken = folder.take(candidate, work=work)
                if isinstance(taken, str):
                    log("file not ready", level=logging.WARNING, file=candidate.name,
                        reason=taken)
                    continue
                try:
                    worst = max(worst, self._dropped(folder, taken))
                finally:
                    if self.options.dry_run or taken.path.exists():
                        folder.discard(taken)  # not kept: a dry run, or the run failed
        return worst

    def _dropped(self, folder: DropFolder, taken: Taken) -> int:
        name = taken.name
        if taken.incomplete is not None:
            log("file rejected", level=logging.ERROR, file=name, reason=taken.incomplete)
            if not self.options.dry_run:
                folder.finish(taken, ok=False, run_id="unusable", reports={
                    "json": json.dumps({"file": name, "error": taken.incomplete}, indent=2)})
            return EXIT_RECORD_ERRORS
        if taken.same_as is not None:
            # Applied again all the same: idempotent, and HR may mean it (an export dropped
            # again to undo a mistake); it writes only what drifted since.
            log("file has the same content as the last applied", file=name,
                same_as=taken.same_as.describe())
        if taken.previously_rejected is not None:
            log("file was rejected before", file=name,
                rejected=taken.previously_rejected.describe())
        log("file picked up", file=name, size=taken.size, sha256=taken.sha256)
        try:
            result = self.sync(taken.path)
        except SourceError as exc:
            log("file rejected", level=logging.ERROR, file=name, reason=exc.detailed())
            if not self.options.dry_run:
                folder.finish(taken, ok=False, run_id="unusable", reports={
                    "json": json.dumps({"file": name, "error": exc.detailed()}, indent=2)})
            return EXIT_RECORD_ERRORS
        rendered = publish_configured(result, self.config, self.state, prune_history=False)
        code = result.exit_code
        if not self.options.dry_run:
            kept = folder.finish(taken, ok=code != EXIT_SAFETY, run_id=result.run_id,
                                 reports=rendered)
            log("file done", file=name, kept_as=str(kept), run_id=result.run_id,
                sha256=taken.sha256)
            if os.path.lexists(taken.candidate.path):
                log("file changed after it was read", level=logging.WARNING, file=name,
                    reason="what was read is applied and kept; the new content is taken "
                           "by the next run")
        return code
