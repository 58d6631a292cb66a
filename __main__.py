"""``python -m dealcoach``: the same program as the ``dealcoach`` command."""

from dealcoach.engine.entry import run

if __name__ == "__main__":
    run()
