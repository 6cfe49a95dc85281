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

from tests.smtp_server import free_port
from tests.test_serve import _serve, _stop, _wait_listening

HERE = Path(__file__).parent
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
EXAMPLES_PER_OPERATION = 50
SEED = 20261202  # reproducible in CI; change it to explore other inputs


def _config(tmp_path: Path, port: int) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[server]\nhost = "127.0.0.1"\nport = {port}\n'
        f'[database]\nurl = "sqlite:///{tmp_path / "hub.db"}"\n'
        f'[transports.outbox]\npath = "{tmp_path / "outbox"}"\n',
        encoding="utf-8",
    )
    return path


def _commhub(config: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "commhub", "--config", str(config), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout


def test_the_server_agrees_with_its_openapi_document(tmp_path: Path) -> None:
    port = free_port()
    config = _config(tmp_path, port)
    _commhub(config, "migrate")
    token = _commhub(config, "token", "create", "--role", "admin").strip().splitlines()[-1]
    log = tmp_path / "serve.log"
    server = _serve(config, log)
    try:
        _wait_listening(server, log)
        run = subprocess.run(
            [
                str(SCHEMATHESIS),
                "--config-file",
                str(HERE / "schemathesis.toml"),
                "run",
                f"http://127.0.0.1:{port}/v1/openapi.json",
                "--header",
                f"Authorization: Bearer {token}",
                "--checks",
                "all",
                "--max-examples",
                str(EXAMPLES_PER_OPERATION),
                "--seed",
                str(SEED),
                "--workers",
                "2",
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
    finally:
        _stop([server])
    report = run.stdout + run.stderr
    assert run.returncode == 0, report
    # Every operation of the document was exercised, none skipped for want of a schema.
    selected = re.search(r"Selected: (\d+)/(\d+)", report)
    tested = re.search(r"Tested: (\d+)", report)
    assert selected and tested, report
    assert int(tested[1]) == int(selected[1]) == int(selected[2]) >= 12, report
