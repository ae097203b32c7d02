"""The keys that name a conversation or a person: every one of them includes the tenant.

    conversation_key(tenant, conversation)   Kafka key of turns, requests, skip records and usage records;
                                             the processors' state key; the scope of dedupe
    person_key(tenant, user)                 Kafka key of memory batches (one user's merges meet in one partition)

Two tenants may use the same conversation ids and turn indexes: their turns never share a partition key, a
state, a request id or a memory. Parts are joined with the ASCII unit separator, which no id may contain
(`schemas.events.Id` refuses control characters).
"""

from __future__ import annotations

SEPARATOR = "\x1f"


def conversation_key(tenant_id: str, conversation_id: str) -> str:
    """The one name of a conversation of a tenant."""
    return f"{tenant_id}{SEPARATOR}{conversation_id}"


def person_key(tenant_id: str, user_id: str) -> str:
    """The one name of a user of a tenant."""
    return f"{tenant_id}{SEPARATOR}{user_id}"


def split_key(key: str) -> tuple[str, str]:
    """(tenant, rest) of a key; ("", key) for a key written before keys carried the tenant."""
    tenant, separator, rest = key.partition(SEPARATOR)
    return (tenant, rest) if separator else ("", key)


__all__ = ["SEPARATOR", "conversation_key", "person_key", "split_key"]
