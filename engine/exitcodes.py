"""The exit status of every ``dealcoach`` command: one table, the same meaning everywhere.

| status | meaning |
| --- | --- |
| 0 | done; a check found nothing wrong |
| 1 | a check ran and found problems (``kb lint``, ``kb test``, ``drill check``) |
| 2 | the input or the command line is wrong: nothing (or, for some files, not everything) was done |
| 70 | a bug in dealcoach (it prints the traceback and asks for a report); never the user's mistake |
| 130 | interrupted (Ctrl-C): 128 + SIGINT, what a shell reports for a process stopped that way |

1 and 2 differ the way they do for ``grep``, ``diff`` and ``ruff``: 1 is an answer ("the playbook
has problems"), 2 is a failure to give one. A script can run ``kb lint`` as a gate and still tell a
broken checkout (2) from a playbook that needs work (1). A drill whose scripted answers run out
before its end is input that falls short (2); the answers given so far are saved.
"""

OK = 0
PROBLEMS_FOUND = 1
INVALID_INPUT = 2
BUG = 70  # EX_SOFTWARE in sysexits.h
INTERRUPTED = 130

INTERRUPTED_MESSAGE = "dealcoach: interrupted"
