"""A prompt-template chain with image variables: the same question for each picture.

The template carries a placeholder where the image goes; each call fills it with a data URL
made by `prepare_image` (validated, rotated upright, downscaled).

Run: python examples/prompt_template.py
Needs: langchain-flexai[testing] (the offline emulator)
"""

from _flexai import IMAGES, flexai
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from langchain_flexai import prepare_image

prompt = ChatPromptTemplate.from_messages(
    [
        ("system", "You describe photos for a {audience}. Be brief."),
        (
            "human",
            [
                {"type": "text", "text": "{question}"},
                {"type": "image_url", "image_url": {"url": "{image_url}"}},
            ],
        ),
    ]
)

with flexai() as chat_model:
    chain = prompt | chat_model() | StrOutputParser()
    for name in ("note-rotated.jpg", "leaf.png"):
        image = prepare_image(IMAGES / name)
        answer = chain.invoke(
            {
                "audience": "museum catalogue",
                "question": "What is the main colour?",
                "image_url": image.url,
            }
        )
        print(
            f"{name} ({image.width}x{image.height}, {', '.join(image.transformations) or 'as is'}):"
        )
        print(answer)
