"""`POST /v1/memories` and `POST /v1/memories:batch`: direct memory writes under the API key's tenant.

Written memories are published to the memories topic (the service's `MemoryPublisher`), not put into the
store: the memory sink stores them like extracted ones, with the same deterministic ids (so writing twice
adds nothing) and the same version history. A 202 answer means the batches are acknowledged by the broker;
they are searchable once the memory sink has consumed them. A batch is validated item by item: invalid items
are listed by index with the reason and the valid ones are still written; a batch with no valid item, or
over `write_max_batch` items, is a 422 and writes nothing.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field
from pydantic import ValidationError as PydanticValidationError

from schemas.memory_input import MemoryInput, input_errors

from .api_models import ErrorOut
from .deps import Resources, Stores, Tenant

router = APIRouter(tags=["memories"])

_ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorOut, "description": text}
    for code, text in (
        (401, "no API key"),
        (403, "unknown API key"),
        (422, "invalid memory, no valid item, or too many items"),
        (503, "the memories topic did not acknowledge the write"),
    )
}


class WriteBatchRequest(BaseModel):
    """`POST /v1/memories:batch`: memories to write; each item is checked on its own."""

    memories: list[Any] = Field(min_length=1, description="MemoryInput objects (each checked on its own)")


class ItemError(BaseModel):
    index: int = Field(description="position of the item in `memories`")
    message: str


class WrittenMemory(BaseModel):
    index: int
    memory_id: str


class WriteResponse(BaseModel):
    """What was published: the id of each accepted item, and why the others were refused."""

    accepted: int
    rejected: int
    memories: list[WrittenMemory]
    errors: list[ItemError]


def _publish(resources: Resources, tenant: str, items: list[tuple[int, MemoryInput]]) -> list[WrittenMemory]:
    ids = resources.writer().write(tenant, [item for _index, item in items])
    return [WrittenMemory(index=index, memory_id=mid) for (index, _item), mid in zip(items, ids, strict=True)]


@router.post("/v1/memories", status_code=202, response_model=WriteResponse, responses=_ERRORS)
def write_memory(body: MemoryInput, tenant: Tenant, stores: Stores) -> WriteResponse:
    """Write one memory for `user_id` under the caller's tenant (published to the memories topic)."""
    written = _publish(stores, tenant, [(0, body)])
    return WriteResponse(accepted=1, rejected=0, memories=written, errors=[])


@router.post("/v1/memories:batch", status_code=202, response_model=WriteResponse, responses=_ERRORS)
def write_memories(body: WriteBatchRequest, tenant: Tenant, stores: Stores) -> WriteResponse:
    """Write many memories at once; invalid items are named (index and reason) and the valid ones written."""
    limit = stores.config.write_max_batch
    if len(body.memories) > limit:
        raise HTTPException(422, f"at most {limit} memories per batch, got {len(body.memories)}")
    valid: list[tuple[int, MemoryInput]] = []
    errors: list[ItemError] = []
    for index, raw in enumerate(body.memories):
        try:
            valid.append((index, MemoryInput.model_validate(raw)))
        except PydanticValidationError as exc:
            errors.append(ItemError(index=index, message=input_errors(exc)))
    if not valid:
        detail = "; ".join(f"[{e.index}] {e.message}" for e in errors)
        raise HTTPException(422, f"no valid memory in the batch: {detail}")
    written = _publish(stores, tenant, valid)
    return WriteResponse(accepted=len(written), rejected=len(errors), memories=written, errors=errors)


__all__ = ["ItemError", "WriteBatchRequest", "WriteResponse", "WrittenMemory", "router"]
