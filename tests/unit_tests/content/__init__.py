"""Unit tests of LangChain content to FlexAI parts (langchain_flexai.content)."""
