"""The cost of a rule layer in ``mlprod serve``: ten rules beside none, in one run.

    python bench/bench_rules_serve.py [--seconds 20] [--rounds 3] [--connections 8]

Needs ``wrk`` (Debian's package ``wrk``) as the load generator.

Two projects are made from the classification template: one without rules,
and its copy with a ``rules.yaml`` of ten rules (every effect: deny, allow,
force, abstain; on features and on a field the model does not use, sent in
the request), each trained once (the same data and seed: the same model).
Each server answers single-row POST requests for ``--seconds`` with
``--connections`` open connections; the two are measured in turns, round
after round (none, ten, none, ten …), so that a change in the machine's load
falls on both, and the figure is the ratio of the median throughputs.
The goal (issue 16) is an overhead of at most 5 % of throughput.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_serve import free_port, wait_ready, wrk

TEN_RULES = """\
rules_policy: all
fallback: abstain
fields: {referral: string}
rules:
  - id: no_sk_on_palms_soles
    when: 'anatomic_site == "palms/soles"'
    deny_classes: [seborrheic_keratosis]
  - id: minors_to_a_person
    when: 'age < 18'
    abstain: true
  - id: referred_by_dermatologist
    when: 'referral == "dermatologist"'
    force: melanoma
  - id: elderly_trunk
    when: 'anatomic_site == "trunk" && age > 70'
    allow_classes: [melanoma, nevus]
  - id: large_and_evolving
    when: 'diameter_mm > 12.0 && evolving == 1.0'
    deny_classes: [nevus]
  - id: tiny_regular
    when: 'diameter_mm < 2.0 && border_irregularity < 1.0'
    deny_classes: [melanoma]
  - id: face_over_sixty
    when: 'anatomic_site == "head/neck" && age >= 60.0'
    allow_classes: [melanoma, seborrheic_keratosis]
  - id: many_colours
    when: 'color_count >= 5.0'
    deny_classes: [seborrheic_keratosis]
  - id: self_referred_asymmetric
    when: 'referral == "self" && asymmetry >= 2.0'
    allow_classes: [melanoma, nevus]
  - id: sex_unknown
    when: 'sex == "unknown"'
    abstain: true
"""


def project_without_rules(work: Path) -> Path:
    """The classification template rendered in ``work``, without the sample's example rule."""
    from mlprod_cli.core.scaffold import NewRequest, create_project

    request = NewRequest("no-rules", output_dir=work, no_input=True, venv=False, git=False)
    project = create_project(request).project_dir
    (project / "rules.yaml").unlink()
    config = project / "mlprod.yaml"
    lines = config.read_text().splitlines(keepends=True)
    config.write_text("".join(line for line in lines if not line.startswith("rules:")))
    return project


def trained(project: Path) -> None:
    """``project``'s model trained and made active."""
    from mlprod_cli.core.config import load_config
    from mlprod_cli.core.train import train
    from mlprod_cli.core.workspace import Workspace

    config = load_config(project)
    version = train(Workspace(config), kinds=("model",), cv=0).versions[0]
    Workspace(config).registry.activate(version)


def with_rules(project: Path, dest: Path) -> Path:
    """A copy of the untrained ``project`` with the ten rules."""
    shutil.copytree(project, dest)
    (dest / "rules.yaml").write_text(TEN_RULES)
    config_file = dest / "mlprod.yaml"
    config_file.write_text(config_file.read_text() + "rules: rules.yaml\n")
    return dest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("error: wrk is not installed (apt-get install wrk)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        plain = project_without_rules(work)
        ruled = with_rules(plain, work / "ten-rules")
        trained(plain)
        trained(ruled)
        row = {
            "age": 72,
            "sex": "female",
            "anatomic_site": "trunk",
            "diameter_mm": 7.5,
            "asymmetry": 1,
            "border_irregularity": 3,
            "color_count": 3,
            "evolving": 0,
            "referral": "gp",
        }  # elderly_trunk fires on it; the nine others are evaluated and do not
        body = json.dumps(row)
        servers: dict[str, tuple[Path, int, subprocess.Popen]] = {}
        try:
            for name, project in (("no rules", plain), ("ten rules", ruled)):
                port = free_port()
                env = dict(os.environ, PYTHONPATH=str(project / "src"), MLPROD_NO_DELEGATE="1")
                command = [sys.executable, "-m", "mlprod_cli", "serve", "--port", str(port)]
                process = subprocess.Popen(
                    command, cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )  # fmt: skip
                servers[name] = (project, port, process)
                wait_ready(f"http://127.0.0.1:{port}/ready")
            samples = {}
            for name, (_, port, _) in servers.items():
                url = f"http://127.0.0.1:{port}/predict"
                request = urllib.request.Request(url, body.encode(), {"Content-Type": "application/json"})  # fmt: skip
                with urllib.request.urlopen(request, timeout=10) as answer:
                    samples[name] = answer.read().decode()
                wrk(url, body, 3, args.connections, work)  # warm-up
            runs: dict[str, list[dict[str, float]]] = {name: [] for name in servers}
            for _ in range(args.rounds):
                for name, (_, port, _) in servers.items():
                    url = f"http://127.0.0.1:{port}/predict"
                    runs[name].append(wrk(url, body, args.seconds, args.connections, work))
        finally:
            for _, _, process in servers.values():
                process.terminate()
                process.wait(timeout=30)
    print(
        f"single-row requests, {args.connections} connections, {args.rounds} rounds of "
        f"{args.seconds} s each, one worker"
    )
    print(f"{'server':<12} {'req/s (median)':>15} {'rounds':>24} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")  # fmt: skip
    medians = {}
    for name, results in runs.items():
        rps = [r["rps"] for r in results]
        medians[name] = statistics.median(rps)
        shown = " ".join(f"{v:.0f}" for v in rps)
        p50 = statistics.median(r["p50"] for r in results)
        p99 = statistics.median(r["p99"] for r in results)
        errors = sum(r["errors"] for r in results)
        print(f"{name:<12} {medians[name]:>15.0f} {shown:>24} {p50:>8.2f} {p99:>8.2f} {errors:>8.0f}")  # fmt: skip
    ratio = medians["ten rules"] / medians["no rules"]
    print(f"throughput ten rules / no rules: {ratio:.3f} (overhead {1 - ratio:+.1%}; goal <= 5 %)")
    for name, sample in samples.items():
        print(f"{name} answers: {sample}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
