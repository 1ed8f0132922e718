"""Development settings: the zero-setup default (SQLite, DEBUG on unless told otherwise)."""

from .base import *  # noqa: F401,F403
