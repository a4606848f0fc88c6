"""A schemathesis check for mlprod's server: no answer shows Python's internals.

Loaded by ``st run`` through ``SCHEMATHESIS_HOOKS=tests.reliability.schemathesis_hooks``
(with the repository on ``PYTHONPATH``) and imported by
``test_server_fuzz.py``; registering it makes it one of the checks that every
generated request's answer goes through.
"""

from __future__ import annotations

import schemathesis

from tests.serving import INTERNALS


@schemathesis.check
def no_python_internals(ctx, response, case) -> None:
    """No traceback, frame or exception class name in any answer."""
    found = INTERNALS.search(response.text)
    if found:
        raise AssertionError(f"the answer shows {found.group(0)!r}: {response.text[:300]}")
