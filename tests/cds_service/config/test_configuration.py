"""Configuration: the settings table, `ms-cds config` with secrets masked, fail-fast start-up,
and the uvicorn options `ms-cds serve` derives from settings and flags."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from cds_service import cli
from cds_service.cli.serving import prepare_multiprocess_metrics, uvicorn_options
from cds_service.config import (
    MASK,
    InvalidSettings,
    Settings,
    effective,
    load_settings,
    markdown_table,
    mask_value,
)
from tests.conftest import make_settings

ROOT = Path(__file__).parents[3]
runner = CliRunner()


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No CDS_ or PROMETHEUS_ variables, no .env file; whatever a command sets is undone."""
    saved = dict(os.environ)
    for name in list(os.environ):
        if name.startswith(("CDS_", "PROMETHEUS_")):
            del os.environ[name]
    monkeypatch.chdir(tmp_path)
    yield
    os.environ.clear()
    os.environ.update(saved)


def test_table_has_one_row_per_setting() -> None:
    """The markdown table has a row per Settings field: CDS_ name, default and meaning."""
    lines = markdown_table().splitlines()
    assert lines[0] == "| Variable | Default | Meaning |"
    rows = lines[2:]
    assert len(rows) == len(Settings.model_fields)
    assert "| `CDS_PORT` | `8000` | Port `ms-cds serve` binds. |" in rows
    assert any(r.startswith("| `CDS_LOG_FORMAT` | (unset) |") and "`json`" in r for r in rows)


def test_every_setting_has_a_description() -> None:
    """Every Settings field has a docstring: docs/configuration.md's table is built from them."""
    undocumented = [n for n, f in Settings.model_fields.items() if not f.description]
    assert undocumented == []


def test_mask_secrets_by_type_name_and_url() -> None:
    """SecretStr values, secret-sounding names and URL passwords are masked; the rest is kept."""
    assert mask_value("anything", SecretStr("s3cret")) == MASK
    assert mask_value("admin_token", "abc") == MASK
    assert mask_value("signing_key", "abc") == MASK
    assert mask_value("database_url", "postgresql+psycopg://cds:pw@db:5432/cds") == (
        f"postgresql+psycopg://cds:{MASK}@db:5432/cds"
    )
    assert mask_value("redis_url", "redis://:pw@redis:6379/0") == f"redis://:{MASK}@redis:6379/0"
    assert mask_value("fhir_url", "https://fhir.example.org/r4?x=1&api_key=k") == (
        f"https://fhir.example.org/r4?x=1&api_key={MASK}"
    )
    assert mask_value(
        "trusted_issuers", {"iss": {"jwks_url": "https://a/jwks", "secret": "x"}}
    ) == {"iss": {"jwks_url": "https://a/jwks", "secret": MASK}}
    assert mask_value("public_base_url", "https://cds.example.org") == "https://cds.example.org"
    assert mask_value("admin_token", None) is None


def test_effective_lists_every_setting(clean_env: None) -> None:
    """The effective configuration names every setting by its environment variable."""
    os.environ["CDS_PUBLIC_BASE_URL"] = "https://user:pw@cds.example.org"
    values = effective(load_settings())
    assert list(values) == [f"CDS_{n.upper()}" for n in Settings.model_fields]
    assert values["CDS_PUBLIC_BASE_URL"] == f"https://user:{MASK}@cds.example.org"


def test_config_command_prints_env_lines(clean_env: None) -> None:
    """`ms-cds config` prints CDS_X=value lines, with credentials masked."""
    os.environ["CDS_PUBLIC_BASE_URL"] = "https://ops:topsecret@cds.example.org"
    os.environ["CDS_WORKERS"] = "4"
    result = runner.invoke(cli.app, ["config"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "CDS_WORKERS=4" in lines
    assert f"CDS_PUBLIC_BASE_URL=https://ops:{MASK}@cds.example.org" in lines
    assert "topsecret" not in result.output


def test_config_json(clean_env: None) -> None:
    """`ms-cds config --json` prints the same values as JSON."""
    result = runner.invoke(cli.app, ["config", "--json"])
    assert result.exit_code == 0
    assert '"CDS_PORT": 8000' in result.stdout


def test_invalid_setting_fails_fast_with_one_line_each(clean_env: None) -> None:
    """Bad settings: exit code 2, one line per bad setting naming the variable, no value echoed."""
    os.environ["CDS_PORT"] = "99999"
    os.environ["CDS_LOG_LEVEL"] = "chatty-hunter2"
    result = runner.invoke(cli.app, ["config"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("invalid setting CDS_LOG_LEVEL: Input should be 'DEBUG'")
    assert lines[1] == "invalid setting CDS_PORT: Input should be less than or equal to 65535"
    assert "hunter2" not in result.output
    assert "Traceback" not in result.output


def test_serve_refuses_invalid_settings_before_uvicorn(
    clean_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ms-cds serve` with an invalid setting exits 2 and never starts uvicorn."""
    import uvicorn

    def must_not_run(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("uvicorn started")

    monkeypatch.setattr(uvicorn, "run", must_not_run)
    os.environ["CDS_WORKERS"] = "0"
    result = runner.invoke(cli.app, ["serve"])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "invalid setting CDS_WORKERS: Input should be greater than or equal to 1"
    )


def _import_asgi(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Import the ASGI entry point in a fresh interpreter, as uvicorn would."""
    return subprocess.run(
        [sys.executable, "-c", "import cds_service.asgi"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_asgi_import_fails_fast(tmp_path: Path) -> None:
    """`uvicorn cds_service.asgi:app` with a bad setting exits 2 with a readable line only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDS_")}
    env["CDS_READINESS_TIMEOUT_SECONDS"] = "soon"
    done = _import_asgi(env, tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "invalid setting CDS_READINESS_TIMEOUT_SECONDS: Input should be a valid number, "
        "unable to parse string as a number"
    )


def test_load_settings_error_lists_lines() -> None:
    """InvalidSettings carries one line per error."""
    with pytest.raises(InvalidSettings) as info:
        load_settings(_env_file=None, port=0, workers=0)
    assert [line.split(":")[0] for line in info.value.lines] == [
        "invalid setting CDS_PORT",
        "invalid setting CDS_WORKERS",
    ]


def test_serve_flags_reach_uvicorn(clean_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """--workers, --host, --port and --log-format become uvicorn's options; graceful
    shutdown from CDS_GRACEFUL_SHUTDOWN_SECONDS; several workers get a metrics directory."""
    import uvicorn

    calls: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    os.environ["CDS_GRACEFUL_SHUTDOWN_SECONDS"] = "7"
    os.environ["CDS_TRUSTED_ISSUERS"] = (
        '{"https://ehr.example.org": {"jwks_url": "https://ehr.example.org/jwks"}}'
    )
    os.environ["CDS_PATIENT_HASH_KEY"] = "k" * 32
    os.environ["CDS_PUBLIC_BASE_URL"] = "https://cds.example.org"
    os.environ["CDS_REDIS_URL"] = "redis://127.0.0.1:6379/0"  # several workers need it
    result = runner.invoke(
        cli.app,
        [
            "serve",
            "--workers",
            "3",
            "--host",
            "127.0.0.2",
            "--port",
            "9001",
            "--log-format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    [(app, options)] = calls
    assert app == "cds_service.asgi:app"
    assert (options["host"], options["port"], options["workers"]) == ("127.0.0.2", 9001, 3)
    assert options["timeout_graceful_shutdown"] == 7
    formatter = options["log_config"]["formatters"]["ms_cds"]["()"]
    assert formatter == "cds_service.ops.logs.JsonFormatter"
    assert os.environ["CDS_LOG_FORMAT"] == "json"  # what each worker process reads
    assert Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).is_dir()


def test_serve_defaults_from_settings() -> None:
    """Without flags, uvicorn options come from settings: one worker, loopback, port 8000."""
    options = uvicorn_options(make_settings(dev=False))
    assert (options["host"], options["port"], options["workers"]) == ("127.0.0.1", 8000, 1)
    assert options["timeout_graceful_shutdown"] == 20
    assert options["access_log"] is False
    formatter = options["log_config"]["formatters"]["ms_cds"]["()"]
    assert formatter == "cds_service.ops.logs.JsonFormatter"


def test_multiprocess_dir_cleared_of_stale_values(clean_env: None, tmp_path: Path) -> None:
    """An operator-given PROMETHEUS_MULTIPROC_DIR is used and its stale values removed."""
    directory = tmp_path / "prom"
    directory.mkdir()
    (directory / "counter_123.db").write_bytes(b"stale")
    (directory / "keep.txt").write_text("not ours")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    assert prepare_multiprocess_metrics(2) == str(directory)
    assert sorted(p.name for p in directory.iterdir()) == ["keep.txt"]


def test_single_worker_needs_no_metrics_dir(clean_env: None) -> None:
    """One worker and no PROMETHEUS_MULTIPROC_DIR: plain in-process metrics."""
    assert prepare_multiprocess_metrics(1) is None
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ


def test_log_level_case_insensitive() -> None:
    """CDS_LOG_LEVEL accepts any case."""
    assert make_settings(log_level="debug").log_level == "DEBUG"


def test_env_file_in_working_directory(clean_env: None, tmp_path: Path) -> None:
    """A .env file in the working directory sets CDS_ settings; the environment wins over it."""
    (tmp_path / ".env").write_text("CDS_WORKERS=3\nCDS_PORT=9100\n", encoding="utf-8")
    os.environ["CDS_PORT"] = "9200"
    settings = load_settings()
    assert (settings.workers, settings.port) == (3, 9200)


def test_structured_setting_not_json(clean_env: None) -> None:
    """A JSON setting that does not parse (e.g. empty CDS_TRUSTED_ISSUERS) is one readable
    line and exit code 2, not a traceback."""
    os.environ["CDS_TRUSTED_ISSUERS"] = ""
    result = runner.invoke(cli.app, ["config"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "invalid setting CDS_TRUSTED_ISSUERS: not valid JSON"


def test_asgi_import_refuses_unsafe_production(tmp_path: Path) -> None:
    """`uvicorn cds_service.asgi:app` in production without trusted issuers exits 2 naming
    what is missing, without a traceback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDS_")}
    done = _import_asgi(env, tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("CDS_TRUSTED_ISSUERS is empty")
    assert "Traceback" not in done.stderr
