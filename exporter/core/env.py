"""Settings read from the environment: the numbers each delivery channel takes (attempts, timeouts, backoff)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from .errors import UsageError

N = TypeVar("N", int, float)


def env_number(env: Mapping[str, str], name: str, default: str, kind: Callable[[str], N] = int,
               error: Callable[[str], Exception] = UsageError) -> N:
    """The number in variable *name* of *env* (else *default*), read by *kind*; raise *error* naming the variable
    when it is not a number or is negative."""
    value = env.get(name, default)
    try:
        result = kind(value)
    except ValueError:
        raise error(f"{name} must be a number, not {value!r}") from None
    if result < 0:
        raise error(f"{name} must not be negative")
    return result
