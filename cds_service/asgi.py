"""The ASGI entry point for uvicorn: settings come from the environment.

An invalid setting stops the process before it serves, with one readable line per
bad setting on stderr and exit code 2 (no traceback).
"""

import sys

from cds_service.app import create_app
from cds_service.configuration import InvalidSettings, load_settings

try:
    _settings = load_settings()
except InvalidSettings as exc:
    print("\n".join(exc.lines), file=sys.stderr)
    raise SystemExit(2) from None

app = create_app(_settings)
