"""Worker processes: each wires pure stage logic to topics (one consumer group per component)."""
