"""Vision RAG over PDF pages: load pages → index their text → retrieve a page → ask about its image.

1. `FlexAIImageLoader("report.pdf")` gives one Document per page: the page's text layer as
   `page_content`, the page rendered as an image in `metadata["image_url"]`, and `page` /
   `page_count` in the metadata.
2. The page texts go into an `InMemoryVectorStore`.
3. A question retrieves the best page; `FlexAIImageLoader.to_message` turns that Document back
   into a message with the page image, and the vision model answers looking at the page (its
   charts and layout, not only its words).

Pass `model=ChatFlexAI()` to the loader to add each page's description to its text (scans
without a text layer then become searchable too). The embedding here is a tiny bag-of-words one
so the example runs offline and retrieves by the words the pages contain; use a real embedding
model in an application.

Run: python examples/pdf_rag.py [your.pdf]   (default: examples/report.pdf, three pages)
Needs: langchain-flexai[testing] (emulator), langchain-flexai[pdf], numpy (InMemoryVectorStore)
"""

import hashlib
import math
import re
import sys
from pathlib import Path

from _flexai import flexai
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


report = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "report.pdf"

with flexai() as chat_model:
    model = chat_model()
    loader = FlexAIImageLoader(report)
    pages = loader.load()
    store = InMemoryVectorStore(WordEmbeddings())
    store.add_documents(pages)
    print(f"indexed {len(pages)} pages of {report.name}")

    question = "In the revenue figure, which of the blue bars is tallest?"
    (best,) = store.similarity_search(question, k=1)
    print(f"retrieved: page {best.metadata['page']} of {best.metadata['page_count']}")
    print(f"its text: {best.page_content.splitlines()[0]!r}")
    answer = model.invoke([FlexAIImageLoader.to_message(best, question)])
    print("answer:")
    print(answer.text)
