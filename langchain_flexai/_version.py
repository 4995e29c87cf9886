"""The package version: the one source hatchling and the code read."""

__version__ = "0.2.0"
