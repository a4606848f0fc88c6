"""mlprod: machine learning in production, from a project's first minute."""

from __future__ import annotations

__version__ = "0.1.0"
