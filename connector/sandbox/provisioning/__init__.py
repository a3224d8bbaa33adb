"""The sandbox's Entra API-driven inbound provisioning: one provisioning app and job
(:mod:`.store`), its bulkUpload, job status, schema and provisioning-log endpoints
(:mod:`.api`), the engine that applies uploads to the sandbox's users (:mod:`.engine`)
with the job's attribute mapping (:mod:`.schema`). Built from
``/work/shared/reference/api-driven-inbound.md``; shares no code with the client.
"""

from .api import Provisioning
from .store import STATUSES, JobIds, ProvisioningStore, job_ids

__all__ = ["STATUSES", "JobIds", "Provisioning", "ProvisioningStore", "job_ids"]
