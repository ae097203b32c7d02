"""`python -m streams.cli ...`: the `memlane` command run by a given interpreter (how workers are spawned)."""

from streams.cli import main

main()
