"""Quickstart: ask a FlexAI vision model about a local image.

Run: python examples/quickstart.py   (uses the offline emulator when FLEXAI_API_KEY is unset)
Needs: langchain-flexai[testing] (the offline emulator)
"""

from _flexai import IMAGES, flexai
from langchain_core.messages import HumanMessage

from langchain_flexai import image_block

with flexai() as chat_model:
    model = chat_model(model="phi-4-multimodal-instruct", temperature=0)
    message = HumanMessage(
        content=[
            {"type": "text", "text": "What is in this picture? Answer in one sentence."},
            image_block(IMAGES / "sunset.jpg"),  # your code reads the file: the trusted door
        ]
    )
    reply = model.invoke([message])
    print(reply.text)
    print("usage:", reply.usage_metadata)
    print("images sent:", reply.response_metadata["images_sent"])
