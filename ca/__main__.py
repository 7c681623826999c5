"""`python -m ca` is `delegato` (how `delegato serve` starts its jobs process)."""

from ca.cli import main

main()
