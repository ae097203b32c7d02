"""Extraction: the extractor contract, the Ollama, heuristic and Claude extractors, and the circuit breaker."""
