"""{{ cookiecutter.description|replace('\\', '/')|replace('"', "'") }}.

The project's own code: the data's schema as ``mlprod.yaml`` declares it
(:mod:`.schema`), how data are loaded and split (:mod:`.data`), the features
(:mod:`.features`), the heuristic baseline (:mod:`.baseline`), the model
(:mod:`.model`) and the metric design (:mod:`.metrics`). ``mlprod.yaml`` points
at these modules; mlprod owns the machinery around them.
"""

from __future__ import annotations

__version__ = "0.1.0"
