"""The two kinds of error the command line reports in one line: bad input from the user (exit
status 2) and a run that cannot go on (exit status 1). Every module's own error class derives
from one of them, so the command line catches them without importing the modules (and torch)
that a command does not use."""

from __future__ import annotations


class UserError(Exception):
    """Bad input: a setting, a file or a folder the user gave. One line, exit status 2."""


class RunFailure(Exception):
    """A run that cannot go on (it diverged, its checkpoint cannot be written). One line, exit
    status 1."""
