"""Bad input for the commands that write: ``package``, ``predict``, ``evaluate``, ``new``."""

from __future__ import annotations

import json
from pathlib import Path

from tests.reliability.cases import ACTIVE, PRED, PREDICTIONS, Case, Setup, write


def artifact(content: str) -> Setup:
    """v0002's artifact replaced by ``content``, with its metadata's hash rewritten to match."""

    def setup(root: Path) -> None:
        import hashlib
        import pickle

        version = root / "models" / "v0002"
        if content == "pickle":
            data = pickle.dumps({"model": "anything"})
        else:  # a skops file holding a type that is not trusted
            import fractions

            import skops.io as sio

            data = sio.dumps({"model": fractions.Fraction(1, 3)})
        (version / "model.skops").write_bytes(data)
        metadata = json.loads((version / "metadata.json").read_text())
        metadata["artifact_sha256"] = hashlib.sha256(data).hexdigest()
        (version / "metadata.json").write_text(json.dumps(metadata))

    return setup


# fmt: off
CASES = [
    # ---- package: an artifact that can never load in the image is refused before any write
    Case("package/pickle-with-rewritten-hash", ("package",), "v0002: model.skops is not a readable skops file", (ACTIVE, artifact("pickle"))),
    Case("package/untrusted-type-in-artifact", ("package",), "v0002: model.skops holds types that are not trusted: fractions.Fraction", (ACTIVE, artifact("untrusted"))),
    # ---- --output under a file: said before anything is computed, stored or registered
    Case("evaluate/output-under-a-file", ("evaluate", "--output", "README.md/report.json"), "cannot write README.md/report.json: README.md is a file, not a folder"),
    Case("train/output-under-a-file", ("train", "--cv", "0", "--output", "README.md/train.json"), "cannot write README.md/train.json: README.md is a file, not a folder"),
    Case("tune/output-under-a-file", ("tune", "--output", "README.md/tune.json"), "cannot write README.md/tune.json: README.md is a file, not a folder"),
    Case("models/list-output-under-a-file", ("models", "list", "--output", "README.md/x.json"), "cannot write README.md/x.json: README.md is a file, not a folder"),
    Case("evaluate/predictions-output-under-a-file", (*PRED, "--output", "p.csv/r.json"), "cannot write p.csv/r.json: p.csv is a file, not a folder", (write("p.csv", PREDICTIONS),), base="empty"),
]
# fmt: on
