"""Reliability and security tests: every test here carries the ``reliability`` marker.

``pytest -m reliability`` runs them alone; ``-m "reliability and not slow"`` the fast ones.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.reliability)


# --------------------------------------------------------------------------- killing mlprod

# A warm process (everything imported, the warm-up commands run once) that forks
# one ``mlprod`` command per request and kills it itself: the pid it kills is its
# own unreaped child, so a kill can never reach another process. A request is one
# JSON line: ``argv``; ``delay`` (seconds, then SIGKILL); ``kill_at`` (the child
# SIGKILLs itself right before or after its N-th call of the functions named in
# ``wrap``, counting from 1, 0 for never); ``trace`` (a file where the child lists
# those calls, for a run that is not killed). The answer: the exit code (-9 when
# killed) and the seconds the child ran.
_ZYGOTE = """
import importlib, json, os, pathlib, signal, sys, time
from mlprod_cli.cli import main

answers = os.fdopen(os.dup(1), "w", buffering=1)
devnull = os.open(os.devnull, os.O_WRONLY)
os.dup2(devnull, 1)
os.dup2(devnull, 2)


def resolve(dotted):
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:-1]:
            owner = getattr(owner, name)
        return owner, parts[-1]
    raise ImportError(dotted)


def instrument(names, kill_at, trace):
    count = [0]

    def step(text):
        count[0] += 1
        trace.append(text)
        if count[0] == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    for dotted in names:
        owner, attr = resolve(dotted)
        real = getattr(owner, attr)

        def wrapped(*args, _real=real, _name=attr, **kwargs):
            step("before " + _name)
            result = _real(*args, **kwargs)
            step("after " + _name)
            return result

        setattr(owner, attr, wrapped)


def child(request):
    trace = []
    instrument(request.get("wrap", ()), request.get("kill_at", 0), trace)
    code = main(request["argv"])
    if request.get("trace"):
        with open(request["trace"], "w") as handle:
            handle.write("\\n".join(trace))
    os._exit(code)


for argv in json.loads(sys.argv[1]):
    main(argv)
answers.write("ready\\n")
for line in sys.stdin:
    request = json.loads(line)
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        child(request)
    deadline = started + request.get("delay", 600)
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.perf_counter() >= deadline:
            os.kill(pid, signal.SIGKILL)
            done, status = os.waitpid(pid, 0)
            break
        time.sleep(0.001)
    seconds = time.perf_counter() - started
    answers.write(json.dumps({"code": os.waitstatus_to_exitcode(status), "seconds": seconds}) + "\\n")
"""


class WarmMlprod:
    """``run(argv, …)`` forks one warm ``mlprod`` command, killed as asked (see ``_ZYGOTE``)."""

    def __init__(self, cwd: Path, warm_up: list[list[str]]):
        import json
        import subprocess
        import sys

        self._json = json
        self.process = subprocess.Popen(
            [sys.executable, "-c", _ZYGOTE, json.dumps(warm_up)],
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        assert self.process.stdout.readline() == "ready\n", "the warm mlprod did not start"

    def run(
        self,
        argv: list[str],
        *,
        delay: float = 600,
        kill_at: int = 0,
        wrap: tuple[str, ...] = (),
        trace: Path | None = None,
    ) -> tuple[int, float]:
        """(exit code, or -9 when killed; seconds) of one forked command."""
        request = {"argv": argv, "delay": delay, "kill_at": kill_at, "wrap": list(wrap)}
        if trace is not None:
            request["trace"] = str(trace)
        self.process.stdin.write(self._json.dumps(request) + "\n")
        answer = self._json.loads(self.process.stdout.readline())
        return answer["code"], answer["seconds"]

    def close(self) -> None:
        import subprocess

        self.process.stdin.close()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def warm_mlprod():
    """``warm_mlprod(cwd, warm_up=[argv, …])``: a :class:`WarmMlprod`, stopped after the test."""
    started: list[WarmMlprod] = []

    def start(cwd: Path, warm_up: list[list[str]]) -> WarmMlprod:
        started.append(WarmMlprod(cwd, warm_up))
        return started[-1]

    yield start
    for zygote in started:
        zygote.close()
