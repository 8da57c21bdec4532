"""`python -m tocsin`: the same command as the `tocsin` script."""

from tocsin.cli import main

main()
