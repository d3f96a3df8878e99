"""Container health check: GET /healthz as a client of this deployment would (allowed host, HTTPS proxy).

Exits 0 when the web process answers {"status": "ok"}; used by the Dockerfile's HEALTHCHECK.
"""

from __future__ import annotations

import os
import sys
import urllib.request

hosts = [host.strip().lstrip(".") for host in os.environ.get("ALLOWED_HOSTS", "").split(",") if host.strip()]
host = next((h for h in hosts if h != "*"), "localhost")
request = urllib.request.Request(
    f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/healthz",
    # A Host in ALLOWED_HOSTS, and the header a TLS-terminating proxy sets so no HTTPS redirect is sent.
    headers={"Host": host, "X-Forwarded-Proto": "https"},
)
try:
    with urllib.request.urlopen(request, timeout=4) as response:  # noqa: S310 - a fixed local URL
        sys.exit(0 if response.status == 200 else 1)
except OSError as error:
    print(f"healthcheck failed: {error}", file=sys.stderr)
    sys.exit(1)
