"""The OpenAPI document against the server that serves it: schemathesis, every check.

`commhub serve` runs as a user runs it (real SQLite file, outbox); schemathesis reads
/v1/openapi.json from it and sends ~50 generated requests per operation, valid and invalid,
checking that nothing answers 5xx, that every status and body matches the document, that
schema-valid requests are accepted and schema-invalid ones refused (tests/schemathesis.toml
lists the few things a schema cannot say). Bounded: under a minute on two cores.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.serve_process import serve_process

HERE = Path(__file__).parent
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
EXAMPLES_PER_OPERATION = 50
SEED = 20261202  # reproducible in CI; change it to explore other inputs


def test_the_server_agrees_with_its_openapi_document(tmp_path: Path) -> None:
    with serve_process(tmp_path) as hub:
        run = subprocess.run(
            [
                str(SCHEMATHESIS),
                "--config-file",
                str(HERE / "schemathesis.toml"),
                "run",
                f"http://127.0.0.1:{hub.port}/v1/openapi.json",
                "--header",
                f"Authorization: Bearer {hub.token}",
                "--checks",
                "all",
                "--max-examples",
                str(EXAMPLES_PER_OPERATION),
                "--seed",
                str(SEED),
                # One worker: with two, schemathesis's threads call hypothesis's lambda
                # description (ast.parse) at once, and CPython 3.11's AST builder keeps its
                # recursion depth per interpreter, not per thread (python/cpython#106905):
                # a run could fail with "AST constructor recursion depth mismatch".
                "--workers",
                "1",
                # An English audio preview is spoken by the neural voice: seconds of CPU on a
                # fresh server, more on a busy 2-core host (schemathesis's default is 10 s).
                "--request-timeout",
                "60",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=300,
        )
    report = run.stdout + run.stderr
    assert run.returncode == 0, report
    # Every operation of the document was exercised, none skipped for want of a schema.
    selected = re.search(r"Selected: (\d+)/(\d+)", report)
    tested = re.search(r"Tested: (\d+)", report)
    assert selected and tested, report
    assert int(tested[1]) == int(selected[1]) == int(selected[2]) >= 12, report
    print(report.split("Test cases:")[-1].strip().splitlines()[0])  # "N generated, ..." (-s)
