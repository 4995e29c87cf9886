"""Unit tests of the loader's internals (langchain_flexai._loader)."""
