"""`python -m tessera ARGS` == `tessera ARGS` (how `tessera serve` starts its job worker process
with the very interpreter and code it runs itself)."""
from tessera.cli import main

main()
