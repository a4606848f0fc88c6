"""The project a command runs in, built once and handed down.

A :class:`Workspace` holds the validated ``mlprod.yaml`` and gives the parts
of the project every capability needs: the registry (with the project's own
package importable and trusted in artifacts), the metrics store and the
request-log folder. A command builds one; the core functions it calls take it
and pass it on, so no capability builds a second registry or works out the log
folder again (hatch's ``Application`` is the model).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlprod_cli.core.code import add_project_to_path, project_package
from mlprod_cli.core.config import Config, load_config
from mlprod_cli.core.registry import Registry


@dataclass
class Workspace:
    """One project: its config, registry, metrics store and request log."""

    config: Config
    _registry: Registry | None = field(default=None, init=False, repr=False)

    @classmethod
    def load(cls, start: Path | None = None, *, need_data: bool = True) -> Workspace:
        """The project at or above ``start`` (default: the working directory)."""
        return cls(load_config(start, need_data=need_data))

    @property
    def root(self) -> Path:
        return self.config.root

    @property
    def registry(self) -> Registry:
        """The project's registry; its own package is importable and trusted in artifacts."""
        if self._registry is None:
            add_project_to_path(self.config)
            self._registry = Registry(
                self.config.registry, trusted_packages=(project_package(self.config),)
            )
        return self._registry

    def refuse_overwriting(self, path: Path | None, option: str) -> None:
        """A UsageError when ``path`` (an ``--output``) is one of the project's own inputs.

        ``mlprod.yaml``, the data files, the label patch and the rules file are
        the user's work: a result written over one of them would lose it.
        """
        if path is None:
            return
        from mlprod_cli.errors import UsageError

        config = self.config
        inputs = {
            "mlprod.yaml": config.path,
            "data.train": config.data.train,
            "data.test": config.data.test,
            "data.label_patch": config.data.label_patch,
            "rules": config.rules,
        }
        target = Path(path).resolve()
        registry = Path(config.registry).resolve()
        if target == registry or registry in target.parents:
            raise UsageError(
                f"{option} {path} is inside the registry ({config.registry.name}/): "
                "its versions are written by mlprod alone"
            )
        for key, where in inputs.items():
            if where is not None and Path(where).resolve() == target:
                what = "the project file" if key == "mlprod.yaml" else f"the project's {key}"
                raise UsageError(f"{option} {path} is {what}: writing there would lose it")

    def request_log(self, override: Path | None = None) -> Path:
        """The request-log folder: ``override`` (``--log-dir``), else ``skew.serving_log``."""
        return override or self.config.skew.serving_log

    def open_store(self, *, writable: bool = False) -> Any:
        """The project's metrics store (``MLPROD_STORE_URL`` wins over ``store:``).

        ``writable`` checks that a run can be written before anything is
        computed, so a bad or unreachable store is said first.
        """
        from mlprod_cli.adapters.store import open_store

        store = open_store(self.config.store, root=self.config.root)
        if writable:
            try:
                store.check_writable()
            except BaseException:
                store.close()
                raise
        return store
