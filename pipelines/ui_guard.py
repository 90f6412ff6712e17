"""The Dagster webserver behind a Host and Origin check: no DNS rebinding, no cross-origin requests.

`dagster dev` / `dg dev` bind the UI to 127.0.0.1, but a loopback bind does not stop a browser: a page
of another origin can POST GraphQL mutations to it (CSRF, e.g. launch or wipe runs), and a page whose
DNS name is rebound to 127.0.0.1 talks to it as "same origin". Dagster's webserver checks neither the
Host nor the Origin header (Dagster calls `dg dev` a development server without CSRF protection).

``HostOriginGuard`` is a plain ASGI middleware wrapped around the webserver's app:
  - a request (HTTP or WebSocket) whose Host is not one of the allowed names is refused (421/403):
    that defeats DNS rebinding, where the browser sends the attacker's host name;
  - a request carrying an Origin that is not the UI's own is refused (403): that stops cross-origin
    requests and WebSocket connections. Requests without an Origin (curl, Python clients, the
    daemon) are not browser cross-origin requests and pass.

Run it instead of ``dg dev`` or ``dagster-webserver`` (same options):
    python -m pipelines.ui_guard dev -h 127.0.0.1 -p 3000      # dg dev: webserver + daemon, guarded
    python -m pipelines.ui_guard -h 127.0.0.1 -p 3000 -m pipelines.definitions   # the webserver alone
Allowed hosts: 127.0.0.1, localhost and [::1] with the port, plus READINESS_UI_ALLOWED_HOSTS
(comma-separated ``name[:port]``, for a server behind a reverse proxy; see docs/ui.md).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

ALLOWED_HOSTS_ENV = "READINESS_UI_ALLOWED_HOSTS"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


class HostOriginGuard:
    """ASGI middleware: refuse requests with a foreign Host header or a foreign Origin header."""

    def __init__(self, app, allowed_hosts: set[str]):
        self.app = app
        self.allowed_hosts = {h.lower() for h in allowed_hosts}

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)  # lifespan events carry no headers
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        problem = self.problem(headers)
        if problem is None:
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":  # closing before accepting answers the handshake with 403
            return await send({"type": "websocket.close", "code": 1008, "reason": problem})
        body = f"Refused by the UI guard: {problem}\n".encode()
        await send({"type": "http.response.start", "status": 421 if "Host" in problem else 403,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    def problem(self, headers: dict[str, str]) -> str | None:
        """Why a request is refused, or None when its Host and Origin are the UI's own."""
        host = headers.get("host", "").lower()
        if host not in self.allowed_hosts:
            return f"Host {host!r} is not an allowed name of this UI"
        origin = headers.get("origin")
        if origin is not None and not self.origin_allowed(origin):
            return f"Origin {origin!r} is not this UI"
        return None

    def origin_allowed(self, origin: str) -> bool:
        """An Origin is allowed when it is http(s) on one of the allowed hosts ("null" never is)."""
        parts = urlsplit(origin.lower())
        return parts.scheme in ("http", "https") and parts.netloc in self.allowed_hosts


def allowed_hosts(port: int, extra: str | None = None) -> set[str]:
    """Loopback names with the port (browsers omit :80 / :443, so those also without), plus ``extra``."""
    names = {f"{name}:{port}" for name in LOOPBACK_NAMES}
    if port in (80, 443):
        names |= set(LOOPBACK_NAMES)
    extra = os.environ.get(ALLOWED_HOSTS_ENV, "") if extra is None else extra
    names |= {h.strip().lower() for h in extra.split(",") if h.strip()}
    return names


def port_from_argv(argv: list[str], default: int = 3000) -> int:
    """The -p/--port of a dagster-webserver command line (its own default is 3000)."""
    for i, arg in enumerate(argv):
        if arg in ("-p", "--port") and i + 1 < len(argv):
            return int(argv[i + 1])
        if arg.startswith("--port="):
            return int(arg.split("=", 1)[1])
    return default


class SameInstanceFile(logging.Filter):
    """Drops Dagster's start-up warning that the project's dagster.yaml "will not be used" when it is false.

    `dg dev` runs from the project root; Dagster warns whenever a dagster.yaml lies there and DAGSTER_HOME is
    another folder. The scripts link exactly that file into DAGSTER_HOME, so it *is* used: the warning is
    dropped only when both paths resolve to the same file, and kept otherwise.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        home = os.environ.get("DAGSTER_HOME")
        if not home or record.levelno != logging.WARNING:
            return True
        same = (Path(home) / "dagster.yaml").resolve() == (Path.cwd() / "dagster.yaml").resolve()
        return not (same and "dagster.yaml" in record.getMessage())


def dev() -> None:
    """`dg dev` whose webserver process is this module (so guarded); code server and daemon as usual.

    `dg dev` runs Dagster's dev server in this process (``dagster._cli.dev.dev_command_impl``), which
    starts the webserver as ``python -m dagster_webserver ...``: that start is redirected to
    ``python -m pipelines.ui_guard ...`` with the same arguments, shutdown pipe included.
    """
    import dagster._cli.dev as dagster_dev
    from dagster_dg_cli.cli import main as dg_main

    open_subprocess = dagster_dev.open_ipc_subprocess

    def open_guarded(command, *args, **kwargs):
        if list(command[1:3]) == ["-m", "dagster_webserver"]:
            command = [command[0], "-m", __spec__.name if __spec__ else "pipelines.ui_guard", *command[3:]]
        return open_subprocess(command, *args, **kwargs)

    dagster_dev.open_ipc_subprocess = open_guarded
    logging.getLogger("dagster").addFilter(SameInstanceFile())
    sys.argv = ["dg", "dev", *sys.argv[2:]]
    sys.exit(dg_main())


def main() -> None:
    """dagster-webserver with every app it creates wrapped in the guard (same command-line options)."""
    if sys.argv[1:2] == ["dev"]:
        return dev()
    import dagster_webserver.cli as webserver_cli

    hosts = allowed_hosts(port_from_argv(sys.argv[1:]))
    create_app = webserver_cli.create_app_from_workspace_process_context

    def guarded_app(*args, **kwargs):
        return HostOriginGuard(create_app(*args, **kwargs), hosts)

    # dagster-webserver looks the factory up in its module when it starts: wrap it there
    webserver_cli.create_app_from_workspace_process_context = guarded_app
    webserver_cli.main()


if __name__ == "__main__":
    main()
