"""Memory sinks and search: embeddings, the Qdrant memory store, the zstd blob store, the search API."""
