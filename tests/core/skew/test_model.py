"""mlprod_cli.core.skew._model: which version a run checks."""

from __future__ import annotations

import pytest

from mlprod_cli.errors import MlprodError
from tests.core.skew.support import run

# --------------------------------------------------------------------------- the version


def test_a_log_served_by_a_version_not_in_the_registry(trained, served):
    served.log(trained, served.X.head(3), version="v0042")
    with pytest.raises(MlprodError, match=r"served by v0042, which is not in models/"):
        run(trained)


def test_the_newest_line_says_which_version_served(tmp_path):
    from mlprod_cli.core.skew._model import _newest_served_version

    old, new, empty = (tmp_path / n for n in ("a.jsonl", "b.jsonl", "c.jsonl"))
    old.write_text('{"model_version": "v0001"}\n')
    new.write_text('{"model_version": "v0001"}\n{"model_version": "v0003"}\n\n')
    empty.write_text("")
    assert _newest_served_version([old, new, empty]) == "v0003"  # an empty last file is skipped
    assert _newest_served_version([new, old]) == "v0001"
    new.write_text('{"model_version": "v0001"}\n{"model_ver')  # torn: the full read names it
    assert _newest_served_version([old, new]) is None
    new.write_text('{"features": {}}\n')
    assert _newest_served_version([old, new]) is None  # not logged by serve: the active model
    assert _newest_served_version([]) is None
