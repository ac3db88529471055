"""`python -m controller` runs the command-line interface."""

from controller.app.cli import main

raise SystemExit(main())
