"""Small HTTP stand-ins on 127.0.0.1 for what moto does not serve: CloudFormation's response URL and
Bedrock's ListInferenceProfiles."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

Route = Callable[[str, str, Mapping[str, str], bytes], tuple[int, Any]]


@contextmanager
def serve(route: Route) -> Iterator[str]:
    """Serve ``route(method, path, headers, body) -> (status, json body)`` on a free loopback port."""

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, payload = route(self.command, self.path, dict(self.headers), body)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_PUT = do_POST = _handle

        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def cloudformation_responses() -> Iterator[tuple[str, list[dict]]]:
    """A pre-signed-URL stand-in: (url, the JSON documents custom resources PUT to it)."""
    received: list[dict] = []

    def route(method: str, path: str, headers: Mapping[str, str], body: bytes) -> tuple[int, Any]:
        assert method == "PUT" and headers.get("Content-Type", "") == ""
        received.append(json.loads(body))
        return 200, {}

    with serve(route) as url:
        yield f"{url}/cloudformation-response?X-Amz-Signature=test", received


@contextmanager
def bedrock_profiles(summaries: Sequence[Mapping[str, Any]], page_size: int = 2) -> Iterator[tuple[str, list[str]]]:
    """Bedrock's ``GET /inference-profiles``: each region sees its own application profiles, a page at a time.

    moto does not implement inference profiles. The region comes from the SigV4 credential scope, as AWS
    routes it; yields (endpoint URL, the regions that were asked).
    """
    asked: list[str] = []

    def route(method: str, path: str, headers: Mapping[str, str], body: bytes) -> tuple[int, Any]:
        url = urlparse(path)
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        region = re.search(r"Credential=[^/]+/\d+/([^/]+)/bedrock/", headers.get("Authorization", ""))
        if method != "GET" or url.path != "/inference-profiles" or region is None:
            return 400, {"message": f"unexpected request {method} {path}"}
        asked.append(region.group(1))
        mine = [
            s
            for s in summaries
            if s["inferenceProfileArn"].split(":")[3] == region.group(1) and query.get("type") in (None, s["type"])
        ]
        start = int(query.get("nextToken", "0"))
        page = {"inferenceProfileSummaries": mine[start : start + page_size]}
        if start + page_size < len(mine):
            page["nextToken"] = str(start + page_size)
        return 200, page

    with serve(route) as url:
        yield url, asked
