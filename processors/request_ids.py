"""Deterministic identifiers of the processors' output: extraction request ids and skip ids (UUID version 5).

A request id depends only on the tenant, the conversation and the turn range it covers (first..last turn
index), so a processor restarted from its changelogged state re-emits the *same* request for the same turns
instead of a second, different one, and downstream consumers deduplicate by id; two tenants' conversations
with the same id never share one. A skip id depends on the tenant, the conversation, the turn index and the
reason, so replaying a turn that was skipped yields the same skip record, while a redelivered turn (reason
`redelivered`) stays distinguishable from its first verdict.
"""

from __future__ import annotations

import uuid

REQUEST_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://memlane.dev/ids/extraction-request")
SKIP_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://memlane.dev/ids/skip")

_SEPARATOR = "\x1f"  # ASCII unit separator: cannot be confused with text inside a part


def request_id(tenant_id: str, conversation_id: str, first_turn_index: int, last_turn_index: int) -> str:
    """The id of the extraction request covering turns `first..last` of a tenant's conversation."""
    if first_turn_index > last_turn_index:
        raise ValueError(f"empty turn range {first_turn_index}..{last_turn_index}")
    name = _SEPARATOR.join((tenant_id, conversation_id, str(first_turn_index), str(last_turn_index)))
    return str(uuid.uuid5(REQUEST_NAMESPACE, name))


def skip_id(tenant_id: str, conversation_id: str, turn_index: int, reason: str) -> str:
    """The id of the skip record saying why turn `turn_index` of a tenant's conversation went to no request."""
    name = _SEPARATOR.join((tenant_id, conversation_id, str(turn_index), reason))
    return str(uuid.uuid5(SKIP_NAMESPACE, name))


__all__ = ["REQUEST_NAMESPACE", "SKIP_NAMESPACE", "request_id", "skip_id"]
