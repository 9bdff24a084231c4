"""The error types of journeyflow: one base class, and the subclass for errors that are the user's to fix.

``UserError`` marks a bad file, option or setting (a journey file, a policy, link rules, a duration option).  It is
a ``ValueError``, so callers that already catch ``ValueError`` keep working, and pydantic validators that raise it
report it as a validation error.  The CLI prints the errors of :data:`USER_ERRORS` without a traceback.
"""
from __future__ import annotations


class JourneyflowError(Exception):
    """Base class of the errors journeyflow raises on purpose."""


class UserError(JourneyflowError, ValueError):
    """An error in something the user supplied (file, option, setting); the message says where and what to fix:
    ``<file>:<line>: <path>: <problem>`` when it comes from a file."""


def _user_errors() -> tuple[type[BaseException], ...]:
    errs: list[type[BaseException]] = [UserError, FileNotFoundError, ValueError]
    try:
        from pydantic import ValidationError
        errs.append(ValidationError)
    except ImportError:  # pragma: no cover
        pass
    return tuple(errs)


#: Exceptions the CLI reports as one message without a traceback: ``UserError``, a missing file, any ``ValueError``
#: (bad option values), pydantic's ``ValidationError`` (a config model that rejects a value).
USER_ERRORS = _user_errors()
