"""Compare several images in one message: each image follows the text that names it.

Run: python examples/compare_images.py
Needs: langchain-flexai[testing] (the offline emulator)
"""

from _flexai import IMAGES, flexai
from langchain_core.messages import HumanMessage

from langchain_flexai import image_block

PHOTOS = ["sunset.jpg", "sky.webp", "leaf.png"]

content: list[str | dict] = [
    {"type": "text", "text": "Which of these pictures shows a clear daytime sky, and why?"}
]
for number, name in enumerate(PHOTOS, start=1):
    content.append({"type": "text", "text": f"Picture {number} ({name}):"})
    content.append(image_block(IMAGES / name, detail="low"))

with flexai() as chat_model:
    reply = chat_model().invoke([HumanMessage(content=content)])
    print(reply.text)
    print("images sent:", reply.response_metadata["images_sent"])
