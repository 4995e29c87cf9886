"""Unit tests of how requests reach FlexAI: errors, masking (langchain_flexai._transport)."""
