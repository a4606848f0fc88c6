"""``python -m mlprod_cli`` runs the CLI."""

from __future__ import annotations

import sys

from mlprod_cli.cli import main

sys.exit(main())
