"""Operating the live pipeline: the supervised components of `memlane up`, their state, status and stop."""
