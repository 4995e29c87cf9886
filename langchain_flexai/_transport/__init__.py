"""How requests reach FlexAI: shared connection pools, error mapping, credential masking.

Private: `ChatFlexAI` and the public errors (`langchain_flexai.errors`, `api_errors`) are the
face.
"""
