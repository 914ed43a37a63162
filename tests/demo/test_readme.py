"""The README's "Try it" shows what `ms-cds demo` prints, for port 8000."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from cds_service.demo import sandbox_url
from demo_data import SITUATIONS
from demo_data.requests import msc_order_select

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
TRY_IT = README[README.index("## Try it") : README.index("## Services")]
BASE = "http://127.0.0.1:8000"


def test_readme_lists_every_demo_patient() -> None:
    """The table names every demo patient, in order."""
    ids = re.findall(r"^\| `([a-z-]+)` \|", TRY_IT, re.MULTILINE)
    assert ids == [s.id for s in SITUATIONS]


def test_readme_sandbox_link_is_the_printed_one() -> None:
    """The README's sandbox link is the one printed for the AHSCT candidate."""
    assert sandbox_url(BASE, "ms-ahsct") in TRY_IT.split()


def test_readme_curl_is_the_printed_request() -> None:
    """The README's curl posts the request the banner's curl posts (its own hookInstance)."""
    block = TRY_IT[TRY_IT.index("curl -s -X POST http://127.0.0.1:8000/cds-services/ms-order") :]
    block = block[: block.index("```")].replace("\\\n", " ")
    words = shlex.split(block)
    assert words[4] == f"{BASE}/cds-services/ms-order-select"
    body = json.loads(words[words.index("-d") + 1])
    assert body == msc_order_select("ms-ahsct", f"{BASE}/demo/fhir", body["hookInstance"])
