"""``python -m spectral`` runs the command-line interface."""

from spectral.cli import main

raise SystemExit(main())
