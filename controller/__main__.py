"""`python -m controller` runs the command-line interface."""

from controller.cli import main

raise SystemExit(main())
