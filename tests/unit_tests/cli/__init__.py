"""Unit tests of the flexai-vision command (langchain_flexai.cli)."""
