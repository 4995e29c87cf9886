"""How requests reach FlexAI: SDK clients, shared pools, error mapping, credential masking.

Private: `ChatFlexAI` and the public errors (`langchain_flexai.errors`, `api_errors`) are the
face. `_clients` builds the SDK clients (and requires a key), `_pools` shares connection pools
across event loops, `_stream` maps one request's errors and guards a stream's end, `_errors` words
FlexAI's errors, `_redact` masks credentials, `_body` encodes request bodies once (as bytes the SDK
sends untouched), `_payload` keeps prepared wire parts out of langchain-openai's block inspection.
"""
