"""Writes a file of its own and says so on stdout."""

from pathlib import Path

Path("HOOKED.txt").write_text("written by the post-gen hook in " + Path.cwd().name + "\n")
print("post-gen: wrote HOOKED.txt")
