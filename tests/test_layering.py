"""The house's layering holds in the source: each package imports only what it may."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
# package -> top-level modules it must never import
FORBIDDEN = {
    "cds_hooks": {"fastapi", "starlette", "httpx", "cds_service", "cards", "fhir_mappings"},
    "cards": {"fastapi", "starlette", "httpx", "cds_service"},
    "fhir_mappings": {"fastapi", "starlette", "httpx", "cds_service", "cards", "cds_hooks"},
    "demo_data": {"fastapi", "starlette", "httpx", "cds_service", "cards", "cds_hooks"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_what_it_may(package: str) -> None:
    """cds_hooks knows no HTTP framework or client; fhir_mappings, cards, demo_data no edge."""
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & FORBIDDEN[package])
        for path in (ROOT / package).rglob("*.py")
    }
    assert not {path: names for path, names in offenders.items() if names}
