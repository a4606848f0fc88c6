"""A table profiled in one streaming pass, and the project decided from it.

:func:`profile_table` reads a CSV or Parquet file of any size in bounded
memory; :func:`plan_project` decides from the profile (and the user's
overrides) what ``mlprod new --data`` writes into ``mlprod.yaml``, each
decision with its reason.
"""

from __future__ import annotations

from mlprod_cli.core.profile._plan import Plan, PlanRequest, plan_project
from mlprod_cli.core.profile._profile import ColumnProfile, Profile, profile_table

__all__ = ["ColumnProfile", "Plan", "PlanRequest", "Profile", "plan_project", "profile_table"]
