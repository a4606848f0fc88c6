"""``mlprod package``: a Docker build context that needs nothing but a base image.

The context (``dist/docker/`` by default) holds exactly what the serving image
installs, each file checked against a hash:

* ``requirements.lock`` — the project's lock, plus one pinned, hashed line for
  the project's own wheel, so the image installs everything with
  ``pip --require-hashes`` in one step;
* ``wheels/`` — the project's wheel (built by its own build backend), the
  wheels the lock pins that are in the project's ``wheels/`` (mlprod itself,
  which need not be on any index), and with ``offline`` every other wheel the
  lock needs on the target platform (``wheels/OFFLINE`` then tells the
  Dockerfile to use no index at all);
* the registry with the active model version only (artifact hash-checked
  against its metadata) and an ``active.json`` naming it;
* the rules file ``mlprod.yaml`` names, if any, at its path (it must hold the
  rules the version was trained with, as ``serve`` checks), and a ``COPY`` of it
  after each ``COPY mlprod.yaml ./`` of the Dockerfile;
* ``mlprod.yaml``, the project's ``Dockerfile`` (its ``MODEL_VERSION`` and
  ``GIT_COMMIT`` defaults set, so a plain ``docker build`` labels the image
  right) and ``.dockerignore``;
* ``mlprod-package.json`` — the manifest: every file with its size and sha256.

The context is assembled in a temporary sibling folder and swapped in at the
end (:func:`~mlprod_cli.adapters.files.swap_folder_in`), so an interrupted or
killed run leaves the previous context whole, and the next run removes what a
killed one left. An existing
folder is replaced only when its manifest says ``package`` made it.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import shutil
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mlprod_cli import __version__
from mlprod_cli.adapters.files import (
    atomic_write_bytes,
    atomic_write_text,
    sha256_file,
    staging_folder,
    swap_folder_in,
)
from mlprod_cli.adapters.lockfile import (
    LOCK_NAME,
    Pin,
    applies,
    check_against_pyproject,
    marker_environment,
    read_lock,
)
from mlprod_cli.core.config import CONFIG_NAME, Config
from mlprod_cli.core.package._closure import (
    installed_requirements,
    runtime_pins,
    wheel_pin,
    wheel_requirements,
)
from mlprod_cli.core.registry import ACTIVE, Version
from mlprod_cli.core.workspace import Workspace
from mlprod_cli.errors import ConfigError, EnvironmentProblem, UsageError

MANIFEST = "mlprod-package.json"
OFFLINE_MARKER = "OFFLINE"
DEFAULT_OUTPUT = Path("dist") / "docker"
_TAG = re.compile(
    r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?$"
)
_IMAGE_LINE = re.compile(r"^(?P<lead>\s*(?:-\s+)?image:\s*)(?P<ref>[^\s#]+)(?P<rest>.*)$")
_DEFAULT_DOCKERIGNORE = "**/__pycache__/\n**/*.py[cod]\n"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class PackageRequest:
    output: Path | None = None
    offline: bool = False
    tag: str | None = None


@dataclass(frozen=True)
class ContextFile:
    path: str  # relative to the context, POSIX
    size: int
    sha256: str


@dataclass
class PackageResult:
    context: Path
    project: str
    model_version: str
    tag: str
    offline: bool
    git_commit: str | None
    files: list[ContextFile] = field(default_factory=list)
    manifests: list[Path] = field(default_factory=list)  # deploy/k8s files whose image changed
    warnings: list[str] = field(default_factory=list)  # deploy/k8s images left alone
    image_id: str | None = None
    image_size: int | None = None
    # Lock pins the image does not install (dev and batch extras, mlprod's
    # authoring tools); None when the runtime closure could not be worked out.
    left_out: list[str] | None = None

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def to_dict(self) -> dict:
        return {
            "context": str(self.context),
            "project": self.project,
            "model_version": self.model_version,
            "tag": self.tag,
            "offline": self.offline,
            "git_commit": self.git_commit,
            "left_out": self.left_out,
            "total_bytes": self.total_bytes,
            "files": [f.__dict__ for f in self.files],
            "deploy_manifests_updated": [str(p) for p in self.manifests],
            "warnings": list(self.warnings),
            "image": None
            if self.image_id is None
            else {"id": self.image_id, "size_bytes": self.image_size},
        }


def image_name(project: str) -> str:
    """A Docker repository name from the project name (lower case, [a-z0-9._-])."""
    name = re.sub(r"[^a-z0-9._-]+", "-", project.lower()).strip("._-")
    return re.sub(r"[._-]{2,}", "-", name) or "model"


def check_tag(tag: str) -> str:
    if not _TAG.match(tag) or len(tag) > 255:
        raise UsageError(
            f"--tag {tag!r} is not a Docker image reference like name:tag "
            "(lower-case name; tag of letters, digits, '.', '_', '-')"
        )
    return tag


def make_context(
    workspace: Workspace, request: PackageRequest, progress: Progress | None = None
) -> PackageResult:
    """Check everything, assemble the context beside the output and swap it in."""
    from mlprod_cli.adapters import git

    config = workspace.config
    step = progress or (lambda _text: None)
    root = config.root
    output = _output_dir(root, request.output)
    pins = _checked_lock(root)
    registry_rel = _registry_in_project(config)
    registry = workspace.registry
    version = registry.resolve(None)  # RegistryError (exit 2) naming 'mlprod train --activate'
    # Nothing from outside the project may enter the image: no link in the
    # registry (a version folder, or a file in it, that points elsewhere), and
    # no file of the project that resolves outside it.
    version_files = _version_files(root, version)
    # Refuses a tampered artifact, and one that can never load in the image (a
    # pickle with its hash rewritten, an untrusted type), as predict and serve do.
    registry.load(version)
    rules = _rules_file(workspace, version)  # the rules serve checks the version against
    dockerfile = root / "Dockerfile"
    if not dockerfile.is_file():
        raise ConfigError(
            f"{dockerfile}: missing; package builds on the project's Dockerfile",
            hint="copy the Dockerfile of a project made by 'mlprod new'",
        )
    for path in (dockerfile, root / CONFIG_NAME, root / ".dockerignore", root / LOCK_NAME):
        _inside_project(root, path)
    _no_links_out_of(root, [root / "src", root / "pyproject.toml", root / "wheels"])
    tag = check_tag(request.tag or f"{image_name(config.project)}:{version.id}")
    locked_wheels = _locked_wheels(root / "wheels", pins)  # hash-checked before any write
    commit = git.head_commit(root)

    made = [p for p in (output.parent, *output.parent.parents) if not p.exists()]
    output.parent.mkdir(parents=True, exist_ok=True)
    try:
        held, staging = staging_folder(output)  # leftovers of killed runs are dealt with first
    except BaseException:
        _remove_made(made)
        raise
    try:
        wheels = staging / "wheels"
        step("building the project's wheel")
        project_wheel = _project_wheel(root, wheels)
        step("copying the locked wheels of wheels/")
        for path in locked_wheels:
            shutil.copy2(path, wheels / path.name)
        carried = {wheel_pin(path)[0] for path in locked_wheels}
        env = target_environment()[0]
        if request.offline:
            step("downloading every wheel the lock needs (--offline)")
            _download_missing(pins, carried, wheels, staging)
            metadata = wheel_requirements(wheels)
        else:
            metadata = installed_requirements(root)
        runtime = runtime_pins(pins, root / "pyproject.toml", env, metadata)
        if request.offline:
            _prune_wheels(wheels, runtime or pins, keep_file=project_wheel)
            (wheels / OFFLINE_MARKER).write_text(
                "Every wheel the lock needs is here: the Docker build uses no index.\n"
            )
        atomic_write_text(staging / LOCK_NAME, _context_lock(root, pins, runtime, project_wheel))
        step(f"copying {version.id}, the active model")
        copied = staging / registry_rel / version.id
        _copy_version(version_files, copied)
        registry.verify(Version(version.id, copied, version.metadata))  # the copy, too
        atomic_write_text(
            staging / registry_rel / ACTIVE, json.dumps({"model": version.id}, indent=2) + "\n"
        )
        shutil.copy2(root / CONFIG_NAME, staging / CONFIG_NAME)
        docker_text = _labelled_dockerfile(
            dockerfile.read_text(encoding="utf-8"), version.id, commit
        )
        if rules is not None:
            rules_rel, rules_bytes = rules
            (staging / rules_rel).parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(staging / rules_rel, rules_bytes)
            docker_text = _copying_rules(docker_text, rules_rel)
        atomic_write_text(staging / "Dockerfile", docker_text)
        ignore = root / ".dockerignore"
        atomic_write_text(
            staging / ".dockerignore",
            ignore.read_text(encoding="utf-8") if ignore.is_file() else _DEFAULT_DOCKERIGNORE,
        )
        result = PackageResult(
            context=output,
            project=config.project,
            model_version=version.id,
            tag=tag,
            offline=request.offline,
            git_commit=commit,
            files=_inventory(staging),
            left_out=None
            if runtime is None
            else sorted({p.name for p in pins} - {p.name for p in runtime}),
        )
        _refuse_links(staging)  # defence in depth: the context holds regular files only
        manifest = {"mlprod": __version__, **result.to_dict()}
        manifest.pop("deploy_manifests_updated")
        manifest.pop("warnings")
        manifest.pop("image")
        atomic_write_text(staging / MANIFEST, json.dumps(manifest, indent=2) + "\n")
        swap_folder_in(staging, output)  # the old context or the new one, at every instant
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        _remove_made(made)
        raise
    finally:
        os.close(held)
    step("pointing deploy/k8s at the new image")
    retag = retag_deploy(root / "deploy" / "k8s", config.project, tag)
    result.manifests, result.warnings = retag.changed, retag.warnings
    return result


def build_image(result: PackageResult, base_image: str | None = None) -> None:
    """``docker build`` the context; EnvironmentProblem (exit 2) when no daemon answers."""
    from mlprod_cli.adapters import docker

    problem = docker.daemon_problem()
    if problem:
        raise EnvironmentProblem(
            f"the context is written to {result.context}, but --build cannot run: {problem}",
            hint=f"start Docker, or build it elsewhere: docker build -t {result.tag} {result.context}",
        )
    args = {"MODEL_VERSION": result.model_version, "GIT_COMMIT": result.git_commit or "unknown"}
    if base_image:
        args["BASE_IMAGE"] = base_image
    result.image_id = docker.build(result.context, result.tag, args)
    result.image_size = docker.image_size(result.tag)


# --------------------------------------------------------------------------- checks


def _output_dir(root: Path, requested: Path | None) -> Path:
    output = (requested if requested is not None else root / DEFAULT_OUTPUT).expanduser()
    output = (Path.cwd() / output).resolve() if not output.is_absolute() else output.resolve()
    if output == root or output in root.parents:
        raise UsageError(f"--output {output} would replace the project itself; name a new folder")
    for kept in (root / "src", root / "models", root / ".git", root / "data"):
        if output == kept or kept in output.parents:
            raise UsageError(f"--output {output} is inside {kept.name}/; name a folder of its own")
    if output.exists():
        if not output.is_dir():
            raise UsageError(f"--output {output} is a file, not a folder")
        if any(output.iterdir()) and not (output / MANIFEST).is_file():
            raise UsageError(
                f"--output {output} is not empty and was not made by 'mlprod package'; "
                "refusing to replace it"
            )
    return output


def _checked_lock(root: Path) -> list[Pin]:
    lock = root / LOCK_NAME
    if not lock.is_file():
        raise ConfigError(f"{lock}: missing; the image installs from the lock")
    pins = read_lock(lock)
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        raise ConfigError(f"{pyproject}: missing; package builds the project's wheel from it")
    problems = check_against_pyproject(pins, pyproject)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ConfigError(
            f"{LOCK_NAME} does not match pyproject.toml: {problems[0]}{more}",
            hint="update the lock, then run 'mlprod check'",
        )
    return pins


def _registry_in_project(config: Config) -> Path:
    try:
        return config.registry.resolve().relative_to(config.root)
    except ValueError:
        raise ConfigError(
            f"{CONFIG_NAME}: registry {config.registry} is outside the project; "
            "package copies the active model from a registry inside it"
        ) from None


# --------------------------------------------------------------------------- wheels


def _project_wheel(root: Path, wheels: Path) -> Path:
    from mlprod_cli.adapters.venv import build_project_wheel

    scratch = wheels.parent / ".project-wheel"
    built = build_project_wheel(root, scratch)
    target = wheels / built.name
    wheels.mkdir(parents=True, exist_ok=True)
    built.replace(target)
    shutil.rmtree(scratch, ignore_errors=True)
    return target


def _pin_line(wheel: Path) -> str:
    name, version = wheel_pin(wheel)
    digest = sha256_file(wheel)
    return (
        "# The project itself, added by 'mlprod package' (not in the project's lock):\n"
        f"{name}=={version} \\\n    --hash=sha256:{digest}\n"
    )


def _locked_wheels(source: Path, pins: list[Pin]) -> list[Path]:
    """The wheels in ``source`` that the lock pins; ConfigError when one's hash is not pinned."""
    by_pin = {(pin.name, pin.version): pin for pin in pins}
    carried: list[Path] = []
    if not source.is_dir():
        return carried
    for path in sorted(source.glob("*.whl")):
        name, version = wheel_pin(path)
        pin = by_pin.get((name, version))
        if pin is None:
            continue
        if f"sha256:{sha256_file(path)}" not in pin.hashes:
            raise ConfigError(
                f"wheels/{path.name} does not match the hash {LOCK_NAME} pins for {name}=={version}",
                hint="the file changed after the lock was written: restore it or update the lock",
            )
        carried.append(path)
    return carried


def target_environment() -> tuple[dict[str, str], list[str], str]:
    """Marker environment, wheel platform tags and Python version of the image (Linux)."""
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(platform.machine().lower())
    machine = machine or platform.machine().lower()
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    env = marker_environment(python)
    env.update(
        sys_platform="linux",
        platform_system="Linux",
        os_name="posix",
        platform_machine=machine,
        implementation_name="cpython",
        platform_python_implementation="CPython",
    )
    tags = [f"manylinux_2_{minor}_{machine}" for minor in range(36, 16, -1)]
    tags += [f"manylinux2014_{machine}"]
    if machine == "x86_64":
        tags += ["manylinux2010_x86_64", "manylinux1_x86_64"]
    return env, tags, python


def _download_missing(pins: list[Pin], carried: set[str], wheels: Path, staging: Path) -> None:
    from mlprod_cli.adapters.venv import download_wheels

    env, tags, python = target_environment()
    wanted = [p for p in pins if p.name not in carried and applies(p.marker, env)]
    if wanted:
        requirements = staging / ".download.txt"
        requirements.write_text(
            "".join(
                f"{p.name}=={p.version} " + " ".join(f"--hash={h}" for h in p.hashes) + "\n"
                for p in wanted
            )
        )
        download_wheels(requirements, wheels, platforms=tags, python=python)
        requirements.unlink()
    present = {}
    for path in wheels.glob("*.whl"):
        present.setdefault(wheel_pin(path), []).append(path)
    for pin in wanted:  # pip checked the hashes; check that nothing is missing, and again
        files = present.get((pin.name, pin.version), [])
        if not any(f"sha256:{sha256_file(f)}" in pin.hashes for f in files):
            raise EnvironmentProblem(
                f"--offline: no wheel of {pin.name}=={pin.version} with a hash from {LOCK_NAME}"
            )


def _prune_wheels(wheels: Path, keep: list[Pin], keep_file: Path) -> None:
    wanted = {(pin.name, pin.version) for pin in keep}
    for path in wheels.glob("*.whl"):
        if path != keep_file and wheel_pin(path) not in wanted:
            path.unlink()


def _context_lock(root: Path, pins: list[Pin], runtime: list[Pin] | None, wheel: Path) -> str:
    """The context's lock: the runtime pins (else the whole lock) and the project's wheel."""
    if runtime is None:
        text = (root / LOCK_NAME).read_text(encoding="utf-8").rstrip("\n") + "\n"
        return text + _pin_line(wheel)
    left_out = sorted({p.name for p in pins} - {p.name for p in runtime})
    lines = [
        f"# {LOCK_NAME} for the serving image, written by 'mlprod package': the run-time",
        f"# dependencies of pyproject.toml, {len(runtime)} of the lock's {len(pins)} pins,",
        f"# exactly as pinned and hashed there. Left out: {', '.join(left_out) or 'nothing'}.",
    ]
    for pin in runtime:
        head = f"{pin.name}=={pin.version}" + (f" ; {pin.marker}" if pin.marker else "")
        lines.append(" \\\n".join([head, *(f"    --hash={h}" for h in pin.hashes)]))
    return "\n".join(lines) + "\n" + _pin_line(wheel)


# --------------------------------------------------------------------------- files


def _relative(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _version_files(root: Path, version: Version) -> list[Path]:
    """The files of ``version``'s folder, refusing links and anything but regular files.

    A registry is mlprod's own: a link in it (``ln -s /etc/shadow
    models/v0002/notes.txt``, or a version folder that is a link) is never
    followed into a build context, wherever it points.
    """
    where = _relative(root, version.path)
    if version.path.is_symlink():
        raise ConfigError(
            f"{where} is a symbolic link; package copies no links from the registry",
            hint="replace the link by the version's own folder",
        )
    files = []
    for path in sorted(version.path.iterdir()):
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode):
            raise ConfigError(
                f"{_relative(root, path)} is a symbolic link; package copies no links from the registry",
                hint="remove the link, or replace it by the file itself",
            )
        if not stat.S_ISREG(mode):
            kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
            raise ConfigError(
                f"{_relative(root, path)} is {kind}; a version holds regular files only",
                hint="move it out of the registry",
            )
        files.append(path)
    return files


def _inside_project(root: Path, path: Path) -> None:
    """Refuse a project file that is a link resolving outside the project, or a special file."""
    if not os.path.lexists(path):
        return
    real = path.resolve()
    if real != root and root not in real.parents:
        raise ConfigError(
            f"{_relative(root, path)} is a link to {real}, outside the project; "
            "nothing from outside the project goes into the image",
            hint="replace the link by the file itself",
        )
    if real.exists() and not (real.is_file() or real.is_dir()):
        raise ConfigError(f"{_relative(root, path)} is not a regular file")


def _no_links_out_of(root: Path, places: list[Path]) -> None:
    """Refuse a link under ``places`` (what the project's wheel is built from) leading outside."""
    for place in places:
        if not os.path.lexists(place):
            continue
        _inside_project(root, place)
        if not place.is_dir():
            continue
        for folder, dirs, files in os.walk(place):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            for name in (*dirs, *files):
                path = Path(folder) / name
                if path.is_symlink():
                    _inside_project(root, path)


def _refuse_links(folder: Path) -> None:
    for path in folder.rglob("*"):
        mode = path.lstat().st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise ConfigError(
                f"the build context would hold {path.relative_to(folder)}, which is not a regular file"
            )


def _copy_version(files: list[Path], dest: Path) -> None:
    """Copy a version's regular files, never following a link (checked before, again here)."""
    dest.mkdir(parents=True)
    for path in files:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as source, (dest / path.name).open("wb") as target:
            if not stat.S_ISREG(os.fstat(source.fileno()).st_mode):
                raise ConfigError(f"{path.name} of the version is not a regular file")
            shutil.copyfileobj(source, target, 1 << 20)
        shutil.copystat(path, dest / path.name, follow_symlinks=False)


def _rules_file(workspace: Workspace, version: Version) -> tuple[str, bytes] | None:
    """The project's rules file (its path in the project, its bytes), or None without one.

    Refused, as ``serve`` would refuse it in the image: a file that differs from
    the rules the version was trained with, a tampered copy of them. The config
    has already refused a rules file that is a link or outside the project.
    """
    from mlprod_cli.core.predict import recorded_rules, version_rules
    from mlprod_cli.core.rules import read_rules_bytes, sha256_bytes

    config = workspace.config
    version_rules(workspace, version)
    if config.rules is None:
        return None
    _inside_project(config.root, config.rules)
    data = read_rules_bytes(config.rules)
    recorded = recorded_rules(version)
    if recorded is not None and sha256_bytes(data) != recorded["sha256"]:  # changed meanwhile
        raise UsageError(f"{config.rules.name}: changed while packaging; run package again")
    return config.rules.relative_to(config.root).as_posix(), data


_CONFIG_COPY = re.compile(rf"(?m)^COPY\s+{re.escape(CONFIG_NAME)}\s+\./\s*$")


def _copying_rules(text: str, rules_rel: str) -> str:
    """The Dockerfile with the rules file copied after each ``COPY mlprod.yaml ./``.

    ``serve`` in the image reads the rules file ``mlprod.yaml`` names; a
    Dockerfile that copies it already is left as it is.
    """
    if re.search(rf"(?m)^COPY\s+(?:\S+\s+)*{re.escape(rules_rel)}\s", text):
        return text
    if not _CONFIG_COPY.search(text):
        raise ConfigError(
            f"Dockerfile: no 'COPY {CONFIG_NAME} ./' line to copy {rules_rel} after",
            hint=f"add 'COPY {rules_rel} ./{rules_rel}' after each copy of {CONFIG_NAME}",
        )
    return _CONFIG_COPY.sub(lambda m: f"{m.group(0)}\nCOPY {rules_rel} ./{rules_rel}", text)


def _labelled_dockerfile(text: str, model_version: str, commit: str | None) -> str:
    text = re.sub(r"(?m)^ARG MODEL_VERSION=.*$", f"ARG MODEL_VERSION={model_version}", text)
    return re.sub(r"(?m)^ARG GIT_COMMIT=.*$", f"ARG GIT_COMMIT={commit or 'unknown'}", text)


def _inventory(folder: Path) -> list[ContextFile]:
    files = []
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest = sha256_file(path)
            rel = path.relative_to(folder).as_posix()
            files.append(ContextFile(rel, path.stat().st_size, digest))
    return files


def _remove_made(made: list[Path]) -> None:
    for folder in made:  # the folders this run created (dist/), innermost first
        with contextlib.suppress(OSError):
            folder.rmdir()


TAG_RECORD = ".mlprod-image"
"""In ``deploy/k8s/``: the image reference ``package`` last wrote into the manifests.

kubectl and kustomize read only ``*.yaml``/``*.yml``/``*.json`` of a folder, so the
record sits beside the manifests, is committed with them, and lets the next run
follow a custom ``--tag`` (``ghcr.io/team/app:v3``) to the new one."""


@dataclass
class Retag:
    changed: list[Path] = field(default_factory=list)  # files whose image line changed
    warnings: list[str] = field(default_factory=list)  # images left alone, by file and line


def retag_manifests(folder: Path, project: str, tag: str) -> list[Path]:
    """The files of ``folder`` :func:`retag_deploy` changed."""
    return retag_deploy(folder, project, tag).changed


def retag_deploy(folder: Path, project: str, tag: str) -> Retag:
    """Point the ``image:`` lines ``package`` wrote in ``folder``'s YAML files at ``tag``.

    A line is package's when its image is the one recorded in :data:`TAG_RECORD`
    (what the last run wrote, default tag or ``--tag``: it becomes ``tag``
    exactly), or when its image name (the last path part, before the tag) is the
    project's or ``tag``'s (the template's ``<project>:latest``, an image set by
    hand: the registry prefix is kept). Any other image is left alone; a file whose
    images are all of that kind gets a warning per image, since its image is then
    not the one being built. The rest of each file is left byte for byte.
    """
    result = Retag()
    if not folder.is_dir():
        return result
    record = folder / TAG_RECORD
    previous = record.read_text(encoding="utf-8").strip() if record.is_file() else None
    name = image_name(project)
    new_name, _, new_tag = tag.rpartition(":") if ":" in tag.rsplit("/", 1)[-1] else (tag, "", "")
    points_at_tag = False
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines(keepends=True)
        touched = False
        foreign: list[tuple[int, str]] = []
        ours = 0
        for i, line in enumerate(lines):
            match = _IMAGE_LINE.match(line.rstrip("\n"))
            if not match:
                continue
            ref = match["ref"].strip("'\"")
            repo = ref.rsplit(":", 1)[0] if ":" in ref.rsplit("/", 1)[-1] else ref
            if previous is not None and ref == previous:
                new_ref = tag
            elif repo.rsplit("/", 1)[-1] in (name, new_name.rsplit("/", 1)[-1]):
                prefix = repo.rsplit("/", 1)[0] + "/" if "/" in repo and "/" not in new_name else ""
                new_ref = f"{prefix}{new_name}:{new_tag}" if new_tag else f"{prefix}{new_name}"
            else:
                foreign.append((i + 1, ref))
                continue
            ours += 1
            points_at_tag = points_at_tag or new_ref == tag
            if new_ref != ref:
                end = "\n" if line.endswith("\n") else ""
                lines[i] = f"{match['lead']}{new_ref}{match['rest']}{end}"
                touched = True
        if touched:
            atomic_write_text(path, "".join(lines))
            result.changed.append(path)
        if foreign and not ours:
            shown = _shown(path, folder)
            wrote = f"it last wrote {previous}" if previous else f"{name} is the project's image"
            result.warnings.extend(
                f"{shown}:{line}: image {ref} is not one 'mlprod package' wrote ({wrote}); "
                f"left as it is, not pointed at {tag}"
                for line, ref in foreign
            )
    if points_at_tag and previous != tag:
        atomic_write_text(record, tag + "\n")
    return result


def _shown(path: Path, folder: Path) -> str:
    """``deploy/k8s/deployment.yaml``: the path from the project, as people know it."""
    root = folder.parent.parent
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
