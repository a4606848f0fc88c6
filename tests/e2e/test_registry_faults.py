"""``train`` killed with SIGKILL at random moments: the registry stays whole.

Each trial starts ``mlprod train`` in a subprocess and kills it after a random
delay spread over the whole run (loading, fitting, writing, renaming). After
every kill the registry must load, list only whole versions (each one's
artifact matching its hash), and keep the active version it had.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest

from mlprod_cli.core.config import load_config
from mlprod_cli.core.train import registry_for

pytestmark = pytest.mark.slow

TRIALS = 12


def test_sigkill_during_train_never_breaks_the_registry(trained):
    config = load_config(trained)
    registry = registry_for(config)
    registry.activate(registry.get("v0001"))
    registry.activate(registry.get("v0002"))
    env = dict(os.environ, MLPROD_NO_DELEGATE="1")
    command = [sys.executable, "-m", "mlprod_cli", "train", "--cv", "2", "--activate"]
    # How long a whole run takes here, to spread the kills over it.
    started = time.perf_counter()
    subprocess.run(command, cwd=trained, env=env, check=True, capture_output=True)
    full = time.perf_counter() - started
    registry.activate(registry.get("v0002"))
    rng = random.Random(20261128)
    killed_mid_run = 0
    for _ in range(TRIALS):
        process = subprocess.Popen(
            command, cwd=trained, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(0.05, full))
        killed_mid_run += process.poll() is None
        process.send_signal(signal.SIGKILL)
        process.wait()
        versions = registry.versions()
        for version in versions:
            registry.verify(version)  # every listed version is whole
        ids = [v.id for v in versions]
        assert ids == sorted(set(ids))
        active = registry.active_id("model")
        if active != "v0002":  # the kill came after the run activated its own model
            assert active in ids
            registry.activate(registry.get("v0002"))
    assert killed_mid_run >= TRIALS // 2
