"""What the serving image installs: the project's run-time closure of the lock.

Worked out from each pinned package's own requirements (the wheels' metadata,
or what is installed in the project's ``.venv``), so the dev and batch extras
and mlprod's authoring tools stay out of the image.
"""

from __future__ import annotations

from pathlib import Path

from mlprod_cli.adapters.lockfile import Pin, applies, canonical, read_pyproject

# What mlprod needs only to make projects (``new``) and for batch work on files
# (profiling, predict and skew on Parquet), never to serve one: the serving image
# leaves these requirements of mlprod out, as mlflow-skinny leaves out mlflow's
# tracking server. A batch command in the image says which package it lacks.
AUTHORING_ONLY = frozenset({"cookiecutter", "virtualenv", "uv", "pyarrow"})


def wheel_pin(path: Path) -> tuple[str, str]:
    """(canonical name, version) from a wheel's file name."""
    name, version = path.name.split("-")[:2]
    return canonical(name), version


Requirements = dict[tuple[str, str], list[str]]  # (name, version) -> its Requires-Dist


def runtime_pins(
    pins: list[Pin], pyproject: Path, env: dict[str, str], requirements: Requirements
) -> list[Pin] | None:
    """The pins the project needs at run time: its dependencies, transitively.

    Walks ``[project] dependencies`` (not the optional ones: ``dev``,
    ``batch``) through each pinned package's own requirements, with extras and
    markers evaluated for the image, and without mlprod's
    :data:`AUTHORING_ONLY` requirements. ``None`` when a pinned package's
    requirements are unknown (``requirements`` has no entry for its pinned
    version): the image then installs the whole lock.
    """
    from packaging.requirements import Requirement

    # A universal lock pins some packages once per Python version: take the image's.
    by_name = {pin.name: pin for pin in pins if applies(pin.marker, env)}
    roots = read_pyproject(pyproject).get("project", {}).get("dependencies", [])
    stack = [(Requirement(text), frozenset({""}), None) for text in roots]
    extras_of: dict[str, set[str]] = {}
    while stack:
        req, parent_extras, parent = stack.pop()
        if req.marker and not any(req.marker.evaluate(dict(env, extra=e)) for e in parent_extras):
            continue
        name = canonical(req.name)
        if parent == "mlprod" and name in AUTHORING_ONLY:
            continue
        wanted = set(req.extras)
        if name in extras_of and wanted <= extras_of[name]:
            continue
        extras_of[name] = extras_of.get(name, set()) | wanted
        pin = by_name.get(name)
        if pin is None:
            return None
        requires = requirements.get((name, pin.version))
        if requires is None:
            return None
        active = frozenset({"", *extras_of[name]})
        stack += [(Requirement(text), active, name) for text in requires]
    return [by_name[name] for name in sorted(extras_of)]


def requires_of(metadata_text: str) -> list[str]:
    from email.parser import Parser

    return Parser().parsestr(metadata_text, headersonly=True).get_all("Requires-Dist") or []


def wheel_requirements(wheels: Path) -> Requirements:
    """Requires-Dist of every wheel in ``wheels``, read from its METADATA."""
    import zipfile

    found: Requirements = {}
    for path in wheels.glob("*.whl"):
        name, version = wheel_pin(path)
        with zipfile.ZipFile(path) as archive:
            meta = next((n for n in archive.namelist() if n.endswith(".dist-info/METADATA")), None)
            if meta is not None:
                found[(name, version)] = requires_of(archive.read(meta).decode("utf-8", "replace"))
    return found


def installed_requirements(root: Path) -> Requirements:
    """Requires-Dist of what is installed in the project's ``.venv`` (else this environment)."""
    from importlib import metadata

    from mlprod_cli.core.project import VENV_NAME

    sites = sorted((root / VENV_NAME).glob("lib/python*/site-packages"))
    dists = (
        metadata.distributions(path=[str(p) for p in sites]) if sites else metadata.distributions()
    )
    found: Requirements = {}
    for dist in dists:
        name = dist.metadata.get("Name")
        if name:
            found.setdefault((canonical(name), dist.version), list(dist.requires or []))
    return found
