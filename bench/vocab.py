"""spaCy's vocabulary after many MRI reports, masked (as served) and unmasked (as before).

`python -m bench.vocab [N]`: each mode in its own process (a vocabulary never shrinks),
alternating, two rounds: N reports (default 2,000), each a follow-up report with thirty
random words and a random name, MRN and birth date; prints the string-store size and RSS
before and after, and CPU time per report (time.process_time).
"""

from __future__ import annotations

import dataclasses
import json
import random
import string
import subprocess
import sys
import time

_REPORT = (
    "Patient: {name}, MRN {mrn}, DOB {born}. {junk}.\n"
    "FINDINGS: Two new T2 lesions in the periventricular white matter; no enhancing lesions.\n"
    "IMPRESSION: Two new T2 lesions, no enhancement."
)


def _rss_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _word(rng: random.Random) -> str:
    return "".join(rng.choices(string.ascii_lowercase, k=rng.randint(4, 10)))


def _one(masked: bool, reports: int) -> dict[str, float]:
    from fhir_mappings import mri_text

    pipeline = mri_text.load_pipeline()
    if not masked:

        class _Unmasked(type(pipeline.masker)):  # type: ignore[misc]
            def mask(self, text: str) -> str:
                return text

        fields = dataclasses.fields(pipeline.masker)
        plain = _Unmasked(**{f.name: getattr(pipeline.masker, f.name) for f in fields})
        unmasked = dataclasses.replace(pipeline, masker=plain)
        mri_text.load_pipeline = lambda: unmasked
    rng = random.Random(1)
    texts = [
        _REPORT.format(
            name=f"{_word(rng).capitalize()} {_word(rng).capitalize()}",
            mrn="".join(rng.choices(string.digits, k=9)),
            born=f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.randint(1940, 2005)}",
            junk=" ".join(_word(rng) for _ in range(30)),
        )
        for _ in range(reports)
    ]
    mri_text.read_mri_text([texts[0]])
    strings, rss = len(pipeline.nlp.vocab.strings), _rss_kib()
    start = time.process_time()
    for text in texts:
        mri_text.read_mri_text([text])
    cpu = (time.process_time() - start) / reports
    return {
        "strings_before": strings,
        "strings_after": len(pipeline.nlp.vocab.strings),
        "rss_mib_growth": (_rss_kib() - rss) / 1024,
        "cpu_ms_per_report": cpu * 1000,
    }


def main() -> None:
    reports = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    if len(sys.argv) > 2:
        print(json.dumps(_one(sys.argv[2] == "masked", reports)))
        return
    for round_ in (1, 2):
        for mode in ("unmasked", "masked"):
            command = [sys.executable, "-m", "bench.vocab", str(reports), mode]
            out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            print(f"round {round_} {mode:8} {out.strip()}")


if __name__ == "__main__":
    main()
