"""The HTTP server the fetcher tests talk to: closing it waits for its request threads.

``http.server.ThreadingHTTPServer`` runs each request in a daemon thread that ``server_close`` does
not wait for. A test whose client gives up (a deadline, a dropped connection) left that thread
behind, and when it later wrote to the closed socket, ``socketserver`` printed the exception to
stderr in the middle of whichever test ran next (seen failing a CLI test's one-line stderr check).
Here the request threads are joined when the server closes, and a client that hung up is not an
error worth printing; any other handler error still is.
"""

from __future__ import annotations

import sys
from http.server import ThreadingHTTPServer


class LocalHTTPServer(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True

    def handle_error(self, request: object, client_address: object) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):  # the client hung up: expected here
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]
