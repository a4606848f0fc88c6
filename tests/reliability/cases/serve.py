"""Bad input to ``mlprod serve`` found in issue 11 (round two): limits given as
options, and a request-log folder that cannot be made. Each fails before the
server listens (or, after binding port 0, before it serves) and leaves nothing."""

from __future__ import annotations

from tests.reliability.cases import ACTIVE, Case, edit, write

PORT0 = ("--port", "0")  # the cases that bind do so on a free port

# fmt: off
CASES = [
    Case("serve/header-timeout-zero", ("serve", "--header-timeout", "0"), "'--header-timeout'", (ACTIVE,)),
    Case("serve/header-timeout-negative", ("serve", "--header-timeout", "-5"), "'--header-timeout'", (ACTIVE,)),
    Case("serve/header-timeout-too-long", ("serve", "--header-timeout", "1e9"), "'--header-timeout'", (ACTIVE,)),
    Case("serve/header-timeout-not-a-number", ("serve", "--header-timeout", "soon"), "'--header-timeout'", (ACTIVE,)),
    Case("serve/header-timeout-nan", ("serve", "--header-timeout", "nan"), "--header-timeout nan: must be more than 0", (ACTIVE,)),
    Case("serve/max-body-bytes-zero", ("serve", "--max-body-bytes", "0"), "'--max-body-bytes'", (ACTIVE,)),
    Case("serve/max-batch-rows-zero", ("serve", "--max-batch-rows", "0"), "'--max-batch-rows'", (ACTIVE,)),
    Case("serve/batch-wait-negative", ("serve", "--batch-wait-ms", "-1"), "'--batch-wait-ms'", (ACTIVE,)),
    Case("serve/batch-wait-too-long", ("serve", "--batch-wait-ms", "500"), "'--batch-wait-ms'", (ACTIVE,)),
    Case("serve/batch-wait-nan", ("serve", "--batch-wait-ms", "nan"), "--batch-wait-ms nan: must be from 0 to 100", (ACTIVE,)),
    Case("serve/max-request-rows-zero", ("serve", "--max-request-rows", "0"), "'--max-request-rows'", (ACTIVE,)),
    Case("serve/log-dir-under-a-file", ("serve", *PORT0, "--log-dir", "mlprod.yaml/requests"), "mlprod.yaml/requests: cannot write the request log there (not a folder)", (ACTIVE,)),
    Case("serve/serving-log-under-a-file", ("serve", *PORT0), "skew.serving_log of mlprod.yaml:", (ACTIVE, write("logs", "not a folder"))),
    Case("serve/serving-log-is-a-file", ("serve", *PORT0), "README.md: cannot write the request log there (not a folder)", (ACTIVE, edit("serving_log: logs/requests/", "serving_log: README.md"))),
]
# fmt: on
