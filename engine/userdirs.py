"""Where dealcoach keeps what belongs to the user rather than to the installed package.

The package itself (``kb/`` inside site-packages, or the tracked ``kb/`` of a checkout) is never
written to: a reinstall would silently delete anything put there. The user's own rules live in a
layer in their data folder, which is loaded after the built-in playbook automatically.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

KB_HOME_ENV = "DEALCOACH_KB_HOME"


def data_dir() -> Path:
    """The user's data folder for dealcoach: XDG on Linux, Application Support on macOS, APPDATA on
    Windows."""
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "dealcoach"


def user_layer() -> Path:
    """The user's own knowledge-base layer: ``DEALCOACH_KB_HOME``, else ``kb`` in the data folder
    (``~/.local/share/dealcoach/kb`` on Linux)."""
    return Path(os.environ.get(KB_HOME_ENV) or data_dir() / "kb")
