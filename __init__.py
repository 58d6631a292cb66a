"""dealcoach: key-account (大客户) sales coaching from a rule-based playbook.

The repository root is this package: installed, it is ``dealcoach`` (``dealcoach.engine``,
``dealcoach.cli``, with the knowledge base in ``dealcoach/kb`` and the example deals in
``dealcoach/scenarios``), so the distribution occupies exactly one import name. ``pyproject.toml``
maps the package onto the root with setuptools' ``package-dir``; an editable install maps the
same name onto the checkout.
"""

__version__ = "0.3.0"
