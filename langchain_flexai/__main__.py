"""``python -m langchain_flexai``: the ``flexai-vision`` command, when the script is not on PATH."""

from __future__ import annotations

import sys

from langchain_flexai.cli._main import main

if __name__ == "__main__":
    sys.exit(main())
