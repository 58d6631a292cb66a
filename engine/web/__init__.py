"""``dealcoach serve``: a local web app over the same engine, knowledge base and files.

Installed with the ``web`` extra (FastAPI, uvicorn, python-multipart). The command line checks
:func:`missing` before importing anything from here, so that a plain install says which extra to
add instead of failing with an import error.
"""

from __future__ import annotations

import importlib.util

REQUIRED = ("fastapi", "uvicorn", "multipart")  # python-multipart imports as `multipart`
INSTALL_HINT = "pip install 'dealcoach[web]'"


def missing() -> list[str]:
    """The web extra's modules that cannot be imported here."""
    return [name for name in REQUIRED if importlib.util.find_spec(name) is None]
