"""RAG over a photo folder: describe → embed → retrieve → answer with the retrieved image.

1. `FlexAIImageLoader(..., model=...)` describes every photo (page_content) and keeps the
   prepared image in the Document's metadata.
2. `FlexAIEmbeddings` (FlexAI's `bge-m3`) embeds the descriptions into an `InMemoryVectorStore`:
   FlexAI's embeddings are text only, so the photos are searched through their captions.
3. A question retrieves the best photo; `FlexAIImageLoader.to_message` turns that Document back
   into a message with the image, and the vision model answers looking at it.

Offline, the emulator's captions report each photo's format, size and colour, and its vectors
are hashed words (docs/emulator.md, "Embeddings"): the question finds the photo whose caption
shares its words. With FLEXAI_API_KEY set, both steps run on FlexAI.

Run: python examples/rag_photos.py
Needs: langchain-flexai[testing] (the offline emulator), numpy (InMemoryVectorStore)
"""

from _flexai import IMAGES, flexai
from langchain_core.vectorstores import InMemoryVectorStore

from langchain_flexai import FlexAIEmbeddings, FlexAIImageLoader

with flexai() as chat_model:
    model = chat_model()
    loader = FlexAIImageLoader(IMAGES, model=model, prompt="Describe this photo and its colours.")
    documents = loader.load()
    # The same endpoint and key as the chat model (FLEXAI_API_KEY / FLEXAI_API_BASE when live).
    embeddings = FlexAIEmbeddings(base_url=model.openai_api_base, api_key=model.openai_api_key)
    store = InMemoryVectorStore(embeddings)
    store.add_documents(documents)
    print(f"indexed {len(documents)} photos; {loader.report.summary()}")

    question = "Which photo has a blue sky?"
    query = embeddings.embed_query(question)
    print(f"question embedded by {embeddings.model}: {len(query)} dimensions")
    (best,) = store.similarity_search_by_vector(query, k=1)
    print("retrieved:", best.metadata["file_name"])
    answer = model.invoke([FlexAIImageLoader.to_message(best, question)])
    print("answer:")
    print(answer.text)
