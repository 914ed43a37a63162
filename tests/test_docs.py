"""The README and docs/ stay true: tables equal the code they describe, and every
command, option, setting, path, endpoint and metric they name exists."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from pathlib import Path

import typer.core
import typer.main
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY, Counter, Histogram
from typer.testing import CliRunner

from cds_service import cli
from cds_service.catalogue import PATIENT_VIEW_PREFETCH, PREFETCH, REQUIRED_PREFETCH, SERVICES
from cds_service.config import TABLE_BEGIN, TABLE_END, markdown_table
from cds_service.ops import metrics
from tests.conftest import make_settings
from tests.test_deploy import PENDING_COMMANDS, check_setting_names

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCS = {p.name: p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").glob("*.md"))}
CONFIGURATION = DOCS["configuration.md"]
EHR = DOCS["ehr-integration.md"]
OPERATIONS = DOCS["operations.md"]
# Everything a user reads: the README and every page of docs/.
ALL = "\n".join([README, *DOCS.values()])


def table_after(heading: str, text: str) -> list[list[str]]:
    """The rows (cells, backticks stripped) of the first table after `heading` in `text`."""
    rest = text[text.index(heading) :]
    rows = []
    for line in rest.splitlines():
        line = line.strip()
        if line.startswith("|"):
            cells = line.strip("|").split(" | ")
            rows.append([c.strip().strip("`").replace("\\|", "|") for c in cells])
        elif rows:
            break
    return rows[2:]  # without header and separator


def test_readme_is_short_and_links_every_page() -> None:
    """The README stays at most 150 lines and links every page of docs/."""
    assert len(README.splitlines()) <= 150
    linked = set(re.findall(r"\]\(docs/([\w.-]+\.md)\)", README))
    assert linked == set(DOCS)


def test_settings_table_is_generated_and_current() -> None:
    """docs/configuration.md's settings table is exactly `ms-cds config --markdown`."""
    text = CONFIGURATION
    start, end = text.index(TABLE_BEGIN) + len(TABLE_BEGIN), text.index(TABLE_END)
    assert text[start:end].strip() == markdown_table().strip(), (
        "settings table is stale: run `.venv/bin/ms-cds config --update-docs docs/configuration.md`"
    )


def test_update_docs_rewrites_a_stale_table(tmp_path: Path) -> None:
    """`ms-cds config --update-docs FILE` rewrites the table between the markers, once."""
    page = tmp_path / "configuration.md"
    page.write_text(f"intro\n{TABLE_BEGIN}\n| stale |\n{TABLE_END}\nrest\n", encoding="utf-8")
    first = CliRunner().invoke(cli.app, ["config", "--update-docs", str(page)])
    again = CliRunner().invoke(cli.app, ["config", "--update-docs", str(page)])
    assert "updated" in first.stdout and "up to date" in again.stdout
    text = page.read_text(encoding="utf-8")
    assert markdown_table() in text and "stale" not in text and text.endswith("rest\n")


def test_services_table_matches_catalogue() -> None:
    """The EHR page's services table lists every service id, hook and title."""
    rows = table_after("| Service id | Hook | Title |", EHR)
    assert rows == [[s.id, s.hook, s.title] for s in SERVICES.values()]


def test_prefetch_table_matches_services() -> None:
    """The prefetch table to configure by hand equals every service's prefetch templates."""
    rows = table_after("| Key | FHIR query | Required |", EHR)
    rows = [[cell.replace("\\|", "|") for cell in row] for row in rows]  # escaped in markdown
    expected = [[k, v, "yes" if k in REQUIRED_PREFETCH else "no"] for k, v in PREFETCH.items()]
    expected += [[k, v, "no (patient-view only)"] for k, v in PATIENT_VIEW_PREFETCH.items()]
    assert rows == expected
    for service in SERVICES.values():
        extra = PATIENT_VIEW_PREFETCH if service.hook == "patient-view" else {}
        assert service.prefetch == {**PREFETCH, **extra}


def test_metrics_table_names_every_metric() -> None:
    """The metrics table names exactly the cds_ metrics the service exports."""
    rows = table_after("| Metric | Labels | Counts |", OPERATIONS)
    exported = {
        m._name + ("_total" if isinstance(m, Counter) else ""): set(m._labelnames)
        for m in vars(metrics).values()
        if isinstance(m, Counter | Histogram)
    }
    in_registry = {f.name for f in REGISTRY.collect() if f.name.startswith("cds_")}
    assert {n.removesuffix("_total") for n in exported} == in_registry
    assert {row[0] for row in rows} == set(exported)
    for name, labels, _ in rows:
        assert set(labels.split(", ")) == exported[name], name
    assert "parse, prefetch, mapping, rules, render" in OPERATIONS
    assert ", ".join(metrics.STAGES) == "parse, prefetch, mapping, rules, render"


def ms_cds_commands() -> list[list[str]]:
    """Every `ms-cds ...` command line in the docs (code spans and code blocks)."""
    found = re.findall(r"(?:^|`|\$ |/)ms-cds ([a-z][^`\n]*)", ALL, flags=re.MULTILINE)
    return [shlex.split(line) for line in found]


def test_every_cli_command_and_option_exists() -> None:
    """Each `ms-cds` command line in the docs names a real command and real options."""
    group = typer.main.get_command(cli.app)
    assert isinstance(group, typer.core.TyperGroup)
    commands = ms_cds_commands()
    assert len(commands) >= 5
    for words in commands:
        name = words[0]
        if name in PENDING_COMMANDS:
            assert name not in group.commands, f"remove {name!r} from PENDING_COMMANDS"
            continue
        assert name in group.commands, f"the docs name unknown command ms-cds {name}"
        options = {o for p in group.commands[name].params for o in getattr(p, "opts", [])}
        for word in words[1:]:
            if word.startswith("--"):
                assert word in options, f"the docs: ms-cds {name} has no option {word}"


def test_serve_options_documented() -> None:
    """`ms-cds serve` offers --workers, --host, --port, --log-format and --dev."""
    group = typer.main.get_command(cli.app)
    assert isinstance(group, typer.core.TyperGroup)
    options = {o for p in group.commands["serve"].params for o in getattr(p, "opts", [])}
    assert {"--workers", "--host", "--port", "--log-format", "--log-level", "--dev"} <= options


def test_every_setting_named_exists() -> None:
    """Every CDS_ variable the docs name is a setting (or one another issue adds)."""
    check_setting_names(set(re.findall(r"\bCDS_[A-Z_]+[A-Z]\b", ALL)), "README.md or docs/")


def test_every_path_named_exists() -> None:
    """Every repository path the docs name exists."""
    paths = set(
        re.findall(
            r"`((?:deploy|cds_hooks|cds_service|fhir_mappings|cards|examples|bench|tests)/[^`\s]*)`",
            ALL,
        )
    )
    paths |= set(re.findall(r"\b(deploy/[\w./-]+\w)", ALL))
    paths.discard("deploy/kubernetes/secret.yaml")  # made by the operator from the template
    paths.discard("bench/results.json")  # written by `make bench`
    assert len(paths) >= 10
    missing = sorted(p for p in paths if not (ROOT / p).exists())
    assert not missing, missing


def test_every_make_target_named_exists() -> None:
    """`make run`, `make test` and every other `make` target the docs name exist."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert {"run", "test"} <= set(re.findall(r"^make (\w+)", README, flags=re.MULTILINE))
    for target in set(re.findall(r"`make (\w+)`", ALL)) | {"run", "test"}:
        assert re.search(rf"^{target}:", makefile, flags=re.MULTILINE), target


def test_endpoints_named_answer(client: TestClient) -> None:
    """/healthz, /readyz, /metrics and /cds-services answer 200 as the README says."""
    for path in ("/healthz", "/readyz", "/metrics", "/cds-services"):
        assert client.get(path).status_code == 200, path
    assert [s["id"] for s in client.get("/cds-services").json()["services"]] == list(SERVICES)


def test_sandbox_cors_in_development(client: TestClient) -> None:
    """Development mode answers the sandbox origin's CORS preflight for a service call."""
    response = client.options(
        "/cds-services/ms-patient-view",
        headers={
            "Origin": "https://sandbox.cds-hooks.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://sandbox.cds-hooks.org"
    allowed = response.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed


def test_development_mode_needs_no_token(app_factory: Callable[..., FastAPI]) -> None:
    """In development mode a hook call without Authorization is answered (the sandbox's JWT
    is not checked)."""
    example = (ROOT / "examples" / "order-select-msc.json").read_text(encoding="utf-8")
    with TestClient(app_factory(make_settings(dev=True))) as client:
        response = client.post(
            "/cds-services/ms-order-select",
            content=example,
            headers={"content-type": "application/json"},
        )
    assert response.status_code == 200


def test_example_request_produces_msc_warning() -> None:
    """`ms-cds evaluate examples/order-select-msc.json` shows the MSC warning card."""
    result = CliRunner().invoke(
        cli.app, ["evaluate", str(ROOT / "examples" / "order-select-msc.json"), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert '"code": "mscWarning"' in result.stdout


def test_config_example_output() -> None:
    """The README's fail-fast example prints exactly the line it shows, exit code 2."""
    result = CliRunner().invoke(cli.app, ["serve"], env={"CDS_PORT": "99999"})
    assert result.exit_code == 2
    shown = "invalid setting CDS_PORT: Input should be less than or equal to 65535"
    assert shown in CONFIGURATION
    assert result.stderr.strip() == shown


def test_epic_algorithm_accepted_by_default() -> None:
    """RS384, Epic's default signing algorithm, is in the default CDS_JWT_ALGORITHMS."""
    assert "in the default `CDS_JWT_ALGORITHMS`" in EHR
    assert "RS384" in make_settings().jwt_algorithms
