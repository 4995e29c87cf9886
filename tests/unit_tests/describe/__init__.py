"""Unit tests of the bulk describe run (langchain_flexai.describe)."""
