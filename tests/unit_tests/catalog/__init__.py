"""Unit tests of the model catalog, profiles and capability checks (langchain_flexai.catalog)."""
