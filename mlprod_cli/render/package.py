"""``mlprod package``'s result: the build context written, and the image when one was built."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlprod_cli.core.words import plural
from mlprod_cli.render.text import human_bytes

if TYPE_CHECKING:
    from mlprod_cli.core.package import PackageResult

__all__ = ["render"]


def render(result: PackageResult, fmt: str) -> str:
    """Where the context is, what it holds, and the image (or the command that builds it)."""
    if fmt == "json":
        import json

        return json.dumps(result.to_dict(), indent=2)
    wheels = [f for f in result.files if f.path.startswith("wheels/") and f.path.endswith(".whl")]
    lines = [
        f"context   {result.context} ({human_bytes(result.total_bytes)}, {plural(len(result.files), 'file')})",
        f"model     {result.model_version}",
        f"wheels    {len(wheels)}{' (offline: the build needs no index)' if result.offline else ''}",
        f"image     {result.tag}",
    ]
    if result.image_id:
        lines.append(f"built     {result.image_id[:19]} ({human_bytes(result.image_size or 0)})")
    else:
        lines.append(f"build     docker build -t {result.tag} {result.context}")
    for path in result.manifests:
        lines.append(f"retagged  {path}")
    return "\n".join(lines)
