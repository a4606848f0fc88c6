"""Refuses before the files are written: a message printed, then exit 1."""

import sys

print("pre-gen: looking for a compiler")
print("ERROR: no C compiler found; install gcc and try again")
sys.exit(1)
