"""The loader's internals: the file walk, the preparation pipeline and image Documents.

Private: `langchain_flexai.document_loaders` is the public face.
"""
