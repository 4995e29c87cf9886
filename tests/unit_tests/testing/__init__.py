"""Unit tests of the emulator's rules and limits (langchain_flexai.testing)."""
