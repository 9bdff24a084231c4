"""Exceptions that are the user's to fix (bad file, bad option): the CLI prints them without a traceback."""
from __future__ import annotations


def _user_errors() -> tuple[type[BaseException], ...]:
    errs: list[type[BaseException]] = [FileNotFoundError, ValueError]
    try:
        from pydantic import ValidationError
        errs.append(ValidationError)
    except ImportError:  # pragma: no cover
        pass
    return tuple(errs)


USER_ERRORS = _user_errors()
