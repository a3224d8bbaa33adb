"""The SCIM side of API-driven inbound provisioning, pure (no I/O): payloads for
``bulkUpload`` (:mod:`.payload`), the plan of what to send (:mod:`.plan`, with the hashes
of :mod:`.digest`), the order and batches to send it in (:mod:`.batch`), and the outcome
of each record read from Entra's provisioning logs (:mod:`.results`). The client that
posts lives in ``connector.graph.provisioning``, the run in ``connector.run.scim``.
"""

from connector.scim.batch import batches, in_manager_order
from connector.scim.digest import PREVIOUS, Sent, attribute_hashes, payload_hash
from connector.scim.payload import (
    BULK_REQUEST,
    CONTENT_TYPE,
    MAX_OPERATIONS,
    bulk_request,
    check_request,
    check_user,
    inactive_data,
    user_data,
)
from connector.scim.plan import ScimPlan, ScimPolicy, Send, build_scim_plan
from connector.scim.results import STATUSES, Provisioned, outcomes, source_id

__all__ = [
    "BULK_REQUEST",
    "CONTENT_TYPE",
    "MAX_OPERATIONS",
    "PREVIOUS",
    "STATUSES",
    "Provisioned",
    "ScimPlan",
    "ScimPolicy",
    "Send",
    "Sent",
    "attribute_hashes",
    "batches",
    "build_scim_plan",
    "bulk_request",
    "check_request",
    "check_user",
    "in_manager_order",
    "inactive_data",
    "outcomes",
    "payload_hash",
    "source_id",
    "user_data",
]
