"""Allow ``python -m qbd_fix``."""

from qbd_fix.cli.app import main

main()
