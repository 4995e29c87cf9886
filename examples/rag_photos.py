"""RAG over a photo folder: describe → index → retrieve → answer with the retrieved image.

1. `FlexAIImageLoader(..., model=...)` describes every photo (page_content) and keeps the
   prepared image in the Document's metadata.
2. The descriptions go into an `InMemoryVectorStore`.
3. A question retrieves the best photo; `FlexAIImageLoader.to_message` turns that Document back
   into a message with the image, and the vision model answers looking at it.

The embedding here is a tiny bag-of-words one so the example runs offline and retrieves by the
words the descriptions contain; use a real embedding model in an application.

Run: python examples/rag_photos.py
Needs: langchain-flexai[testing] (the offline emulator), numpy (InMemoryVectorStore)
"""

import hashlib
import math
import re

from _flexai import IMAGES, flexai
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import InMemoryVectorStore

from langchain_flexai import FlexAIImageLoader


class WordEmbeddings(Embeddings):
    """Hashes each word into one of `size` buckets; cosine similarity then counts shared words."""

    def __init__(self, size: int = 256) -> None:
        self.size = size

    def embed_query(self, text: str) -> list[float]:
        vector = [0.0] * self.size
        for word in re.findall(r"[a-z]+", text.lower()):
            vector[int(hashlib.sha256(word.encode()).hexdigest(), 16) % self.size] += 1.0
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        return [v / norm for v in vector]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.embed_query(text) for text in texts]


with flexai() as chat_model:
    model = chat_model()
    loader = FlexAIImageLoader(IMAGES, model=model, prompt="Describe this photo and its colours.")
    documents = loader.load()
    store = InMemoryVectorStore(WordEmbeddings())
    store.add_documents(documents)
    print(f"indexed {len(documents)} photos; {loader.report.summary()}")

    question = "Which photo has a blue sky?"
    (best,) = store.similarity_search(question, k=1)
    print("retrieved:", best.metadata["file_name"])
    answer = model.invoke([FlexAIImageLoader.to_message(best, question)])
    print("answer:")
    print(answer.text)
