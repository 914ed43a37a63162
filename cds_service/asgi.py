"""The ASGI entry point for uvicorn: settings from the environment, logging configured.

An invalid setting, or a configuration production mode refuses, stops the process
before it serves, with one readable line per problem on stderr and exit code 2 (no
traceback).
"""

import sys

from cds_service.app import create_app
from cds_service.config import ConfigurationError, load_settings
from cds_service.ops import configure_logging

try:
    settings = load_settings()
    configure_logging(settings.effective_log_format, settings.log_level)
    app = create_app(settings)
except ConfigurationError as exc:
    print("\n".join(exc.lines), file=sys.stderr)
    raise SystemExit(2) from None
