"""HTTP requests to a Stepline server, with error responses and failures turned into exit codes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any, NoReturn
from urllib.parse import quote

import httpx
import typer

from stepline import __version__

from .connection import Connection, GlobalOptions, resolve
from .errors import ExitCode, error_console, fail

API_ROOT = "/tca/workflows/api/v1/orgs"
# Statuses that a proxy or an overloaded server returns when the service is not reachable right now.
UNAVAILABLE_STATUSES = frozenset({502, 503, 504})
CONNECT_SECONDS = 10.0
# The abort operation responds only once the running step has stopped, which can take about 12 s.
READ_SECONDS = 120.0
# The largest `limit` the server accepts on a list.
MAX_PAGE_SIZE = 500


def segment(value: str) -> str:
    """Percent-encode one path segment, so that `/`, `?` or a `..` id stay inside it."""
    if value in (".", ".."):
        # URL normalisation removes literal dot segments, which would change the path.
        return value.replace(".", "%2E")
    return quote(value, safe="")


def server_messages(response: httpx.Response) -> list[str]:
    """Return the `errors[].message` entries of an error response, each with its code."""
    try:
        errors = response.json().get("errors")
    except (ValueError, AttributeError):
        errors = None
    if not isinstance(errors, list) or not errors:
        text = response.text.strip()[:300]
        return [text or response.reason_phrase or "no error message in the response"]
    return [f"{item.get('message')} ({item.get('code')})" for item in errors if isinstance(item, dict)]


def fail_for_response(response: httpx.Response) -> NoReturn:
    """Print the server's error messages and exit: 2 for a 4xx response, 3 for 502/503/504, else 1."""
    status = response.status_code
    request = response.request
    if status == 401:
        fail(
            f"the server rejected the API token (HTTP 401 from {request.url.host}): check --token or "
            "STEPLINE_TOKEN, or run `stepline login`"
        )
    if status in UNAVAILABLE_STATUSES:
        code = ExitCode.UNREACHABLE
    elif status >= 500:
        code = ExitCode.FAILED
    else:
        code = ExitCode.USAGE
    messages = server_messages(response)
    if len(messages) == 1:
        fail(f"{messages[0]} [HTTP {status}]", code)
    error_console.print(f"[bold red]error:[/] the server returned {len(messages)} errors [HTTP {status}]:")
    for message in messages:
        error_console.print(f"  - {message}", markup=False)
    raise typer.Exit(int(code))


@contextmanager
def transport_errors(server: str) -> Iterator[None]:
    """Turn httpx failures to reach the server into exit code 3 (2 for an unusable URL)."""
    try:
        yield
    except httpx.UnsupportedProtocol as exc:
        fail(f"invalid server URL {server!r}: {exc}")
    except httpx.TimeoutException as exc:
        message = f"timed out waiting for {server} ({type(exc).__name__}); check that the server runs"
        fail(message, ExitCode.UNREACHABLE)
    except httpx.TransportError as exc:
        fail(f"server {server} unreachable: {exc or type(exc).__name__}", ExitCode.UNREACHABLE)


class Api:
    """A client of one server and tenant; use it as a context manager."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.http = httpx.Client(
            base_url=connection.server,
            headers={
                "Authorization": f"Bearer {connection.token}",
                "User-Agent": f"stepline-cli/{__version__}",
            },
            timeout=httpx.Timeout(CONNECT_SECONDS, read=READ_SECONDS),
        )

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.http.close()

    def tenant_url(self, *parts: str) -> str:
        """Return the path of a tenant resource, e.g. tenant_url("workflow", id)."""
        return "/".join([API_ROOT, segment(self.connection.tenant), *(segment(part) for part in parts)])

    def admin_url(self, *parts: str) -> str:
        """Return a path under the tenant list, e.g. admin_url(tenant_id, "settings")."""
        return "/".join([API_ROOT, *(segment(part) for part in parts)])

    def call(self, method: str, url: str, **kwargs: Any) -> Any:
        """Send a request and return its decoded JSON response (None for an empty body).

        Any error response or transport failure ends the command with its exit code.
        """
        with transport_errors(self.connection.server):
            response = self.http.request(method, url, **kwargs)
        if response.status_code >= 400:
            fail_for_response(response)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            fail(f"the server sent a response that is not JSON for {method} {url}", ExitCode.FAILED)

    @contextmanager
    def stream(self, method: str, url: str, **kwargs: Any) -> Iterator[httpx.Response]:
        """Send a request and yield the response before its body is read.

        An error response or a failure to connect ends the command like `call`. Errors
        while the body arrives (httpx.TransportError) reach the caller, which may
        reconnect or wrap its reading in `transport_errors`.
        """
        with ExitStack() as stack:
            with transport_errors(self.connection.server):
                response = stack.enter_context(self.http.stream(method, url, **kwargs))
                if response.status_code >= 400:
                    response.read()
                    fail_for_response(response)
            yield response

    def find(self, url: str) -> Any:
        """Return the JSON response of a GET, or None when the server responds 404."""
        with transport_errors(self.connection.server):
            response = self.http.get(url)
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            fail_for_response(response)
        return response.json()

    def list_all(self, url: str, params: dict[str, Any]) -> list[Any]:
        """Return the items of every page of a list, following `nextCursor`."""
        items: list[Any] = []
        query = {**params, "limit": MAX_PAGE_SIZE}
        while True:
            page: dict[str, Any] = self.call("GET", url, params=query)
            items.extend(page.get("items", []))
            if not page.get("nextCursor"):
                return items
            query["cursor"] = page["nextCursor"]


def page_params(filters: dict[str, Any], limit: int, cursor: str | None) -> dict[str, Any]:
    """Return the query of one list page: the filters, `limit`, and `cursor` when given."""
    params = {**filters, "limit": limit}
    if cursor:
        params["cursor"] = cursor
    return params


def open_api(ctx: typer.Context) -> Api:
    """Return a client for the server, token and tenant of the root command's options."""
    options = ctx.obj if isinstance(ctx.obj, GlobalOptions) else GlobalOptions()
    return Api(resolve(options))
