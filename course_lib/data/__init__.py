"""Data sets, the synthetic stand-in, and the `Interactions` container."""

from course_lib.data.interactions import Interactions, gini

__all__ = ["Interactions", "gini"]
