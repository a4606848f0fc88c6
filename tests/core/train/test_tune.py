"""``core/train/_tune.py``: candidates, cross-validated scores ranked by the objective, the best registered."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from sklearn.model_selection import ParameterGrid

from mlprod_cli.core.code import build_estimator
from mlprod_cli.core.config import MetricRef, TuneSpec, load_config
from mlprod_cli.core.train import candidates_for, objective_of, tune
from mlprod_cli.core.train._tune import _rank
from mlprod_cli.core.workspace import Workspace
from mlprod_cli.errors import ConfigError, UsageError


@pytest.fixture
def config(project):
    return load_config(project)


def _tuned(config, **spec):
    return replace(config, tune=TuneSpec(**spec))


def test_the_objective_is_the_configs_or_f1_macro(config):
    assert objective_of(config) == MetricRef("recall", "melanoma")
    plain = replace(config, metrics=replace(config.metrics, objective=None))
    assert objective_of(plain) == MetricRef("f1_score")


# --------------------------------------------------------------------------- candidates


def test_a_small_grid_is_searched_whole(config):
    tuned = _tuned(config, search="random", n_iter=10, params={"classifier__C": [0.1, 1.0], "classifier__max_iter": [100, 200]})  # fmt: skip
    found = candidates_for(tuned, build_estimator(tuned, "model"))
    assert found == list(ParameterGrid(tuned.tune.params))  # 4 <= n_iter: no sampling


def test_random_search_samples_n_iter_distinct_candidates_by_seed(config):
    params = {"classifier__C": [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0]}
    estimator = build_estimator(config, "model")

    def sample(seed):
        return candidates_for(
            _tuned(config, search="random", n_iter=3, seed=seed, params=params), estimator
        )

    first = sample(1)
    assert len(first) == 3 and len({c["classifier__C"] for c in first}) == 3
    assert all(c["classifier__C"] in params["classifier__C"] for c in first)
    assert sample(1) == first
    assert any(sample(seed) != first for seed in range(2, 6))


def test_without_a_tune_section(config):
    with pytest.raises(ConfigError, match="no 'tune:' section"):
        candidates_for(replace(config, tune=None), build_estimator(config, "model"))


def test_an_unknown_parameter_is_named_with_the_likely_one(config):
    tuned = _tuned(config, params={"C": [1.0]})
    with pytest.raises(ConfigError) as info:
        candidates_for(tuned, build_estimator(tuned, "model"))
    assert (
        "tune.params.C: the model has no parameter 'C' (did you mean classifier__C?)"
        in info.value.message
    )
    tuned = _tuned(config, params={"classifier__zzz": [1]})
    with pytest.raises(ConfigError, match=r"no parameter 'classifier__zzz'$"):
        candidates_for(tuned, build_estimator(tuned, "model"))


# --------------------------------------------------------------------------- ranking


def test_rank_by_mean_in_the_metrics_direction_undefined_last():
    candidates = [{"C": 1}, {"C": 2}, {"C": 3}]
    scores = np.array([[0.5, 0.7], [np.nan, np.nan], [0.8, np.nan]])
    ranked = _rank(candidates, scores, MetricRef("recall", "a"))
    assert [r["params"] for r in ranked] == [{"C": 3}, {"C": 1}, {"C": 2}]
    assert [r["rank"] for r in ranked] == [1, 2, 3]
    assert ranked[0]["folds"] == [0.8, None] and ranked[0]["std"] == 0.0
    assert ranked[1]["mean"] == pytest.approx(0.6) and ranked[1]["std"] == pytest.approx(0.1)
    assert (ranked[2]["mean"], ranked[2]["std"]) == (None, None)
    lower = _rank(candidates, scores, MetricRef("fnr", "a"))  # lower is better
    assert [r["params"] for r in lower] == [{"C": 1}, {"C": 3}, {"C": 2}]


# --------------------------------------------------------------------------- the search


def test_tune_cross_validates_ranks_and_registers_the_best(config):
    tuned = _tuned(config, cv=2, params={"classifier__C": [0.001, 1.0]})
    calls = []
    result = tune(
        Workspace(tuned), progress=lambda done, total: calls.append((done, total)), n_jobs=1
    )
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]  # 2 candidates x 2 folds
    assert result.objective == "recall@melanoma" and result.search == "grid"
    assert [c["rank"] for c in result.candidates] == [1, 2]
    for candidate in result.candidates:
        assert len(candidate["folds"]) == 2
        assert candidate["mean"] == pytest.approx(np.mean(candidate["folds"]))
    assert result.candidates[0]["mean"] >= result.candidates[1]["mean"]
    assert result.best_params == result.candidates[0]["params"]
    version = result.version
    assert (version.id, version.kind) == ("v0001", "model")
    assert version.metadata["tune"]["best_params"] == result.best_params
    assert version.metadata["tune"]["cv"] == 2
    assert version.metadata["params"]["classifier__C"] == repr(result.best_params["classifier__C"])


def test_a_candidate_the_model_refuses_is_a_config_error(config):
    tuned = _tuned(config, cv=2, params={"classifier__C": [1.0, -1.0]})
    with pytest.raises(ConfigError) as info:
        tune(Workspace(tuned), n_jobs=1)
    message = info.value.message
    assert "tune.params: fitting the model with classifier__C=-1.0 failed: " in message
    assert "\n" not in message
    assert Workspace(tuned).registry.versions() == []  # nothing registered


def test_tune_refuses_before_any_work(config):
    with pytest.raises(UsageError, match="--jobs 0"):
        tune(Workspace(config), n_jobs=0)
    absent = replace(
        config, metrics=replace(config.metrics, objective=MetricRef("recall", "zebra"))
    )
    with pytest.raises(ConfigError, match="class 'zebra' is not in the data"):
        tune(Workspace(absent), n_jobs=1)
    assert Workspace(config).registry.versions() == []
