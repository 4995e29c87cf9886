"""Unit tests of the image pipeline (langchain_flexai.images)."""
