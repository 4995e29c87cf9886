"""Resumable bulk captioning: a folder of images → JSON lines, never paying twice for an image.

The SQLite resume cache keys each answer by the image's SHA-256, the model and the prompt. Kill the
run half-way and start it again: images already captioned come from the cache. This example runs
twice to show it: the second run sends no request.

Run: python examples/bulk_captions.py [FOLDER] [OUT.jsonl]
(the `flexai-vision describe FOLDER --out OUT.jsonl --resume` command does the same)
Needs: langchain-flexai[testing] (the offline emulator)
"""

import json
import sys
import tempfile
from pathlib import Path

from _flexai import IMAGES, flexai

from langchain_flexai import FlexAIImageLoader

args = sys.argv[1:]
folder = Path(args[0]) if args else IMAGES
out = Path(args[1]) if args[1:] else Path(tempfile.mkdtemp()) / "captions.jsonl"

with flexai() as chat_model:
    for run in ("first run", "second run"):
        loader = FlexAIImageLoader(
            folder,
            model=chat_model(),
            prompt="Write a one-line caption for this image.",
            max_concurrency=4,
            requests_per_minute=60,  # FlexAI's Elevated tier
            cache_path=out.with_suffix(".sqlite"),
            on_error="skip",  # a broken file becomes a "skipped" record, not a crash
        )
        with out.open("w", encoding="utf-8") as lines:
            for record in loader.lazy_describe():
                lines.write(json.dumps(record.to_json_dict()) + "\n")
        report = loader.report
        print(
            f"{run}: {report.described} described, {report.cached} from cache, "
            f"{report.requests} requests, {report.usage.total_tokens} tokens paid"
        )

    print(f"\n{out}:")
    for line in out.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        print(f"  {Path(record['source']).name}: {record['status']}: {record['description']!r}")
