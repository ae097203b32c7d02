"""Work offloaded to the local model so a paid model sees less (issue 16).

offload_settings   OffloadSettings (`MEMLANE_OFFLOAD__*`): write limits, RAG pre-ranking, digests
rerank             RAG pre-ranking: the local model orders search candidates, or the search order stands
"""
