"""Running the app: ``dealcoach serve`` hands over to uvicorn here."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from dealcoach.engine.deals.vocabulary import Lang
from dealcoach.engine.playbook.kb import KnowledgeBase
from dealcoach.engine.web.app import LOCAL_HOSTS, create_app


def is_loopback(host: str) -> bool:
    """Whether only this computer can reach ``host`` (127.0.0.0/8, ::1, localhost)."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{port}/"


def serve(folder: Path, host: str, port: int, lang: Lang, knowledge: KnowledgeBase, kb_dirs: Sequence[str]) -> None:
    """Serve ``folder`` until interrupted. A host other than the loopback one also answers to the
    names it is reached by (any Host header), since the people it was opened to use those."""
    hosts = LOCAL_HOSTS if is_loopback(host) else ("*",)
    app = create_app(folder, kb_dirs, lang=lang, hosts=hosts, knowledge=knowledge)
    listener = bind(host, port)
    config = uvicorn.Config(app, log_level="warning", server_header=False, timeout_graceful_shutdown=2)
    uvicorn.Server(config).run(sockets=[listener])


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so that a port in use is an :class:`OSError` the command
    reports in one line (uvicorn would log it and exit 1)."""
    address = host.strip("[]")
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((address, port))
    except OSError:
        listener.close()
        raise
    listener.set_inheritable(True)
    return listener
