"""``mlprod ensemble``: a model version made of other model versions.

:func:`build_ensemble` combines registered versions by soft vote (the mean of
their probabilities, or of their values for a regression) or by stacking (a
simple final estimator fitted on the members' out-of-fold outputs), and
registers the result through :func:`~mlprod_cli.core.train.train`: it is fitted,
cross-validated, gated, activated, served and packaged like any model version,
and its metadata names its members (``ensemble`` in ``metadata.json``).
"""

from __future__ import annotations

from mlprod_cli.core.ensemble._ensemble import METHODS, build_ensemble, check_model_of_project

__all__ = ["METHODS", "build_ensemble", "check_model_of_project"]
