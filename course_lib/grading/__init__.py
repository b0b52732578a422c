"""Instructor tooling: student notebooks generated from solutions, sync and leak checks, grading."""
