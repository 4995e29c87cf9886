"""Draw the small sample images shipped in examples/images/ (run it to make them again).

Each image is a few KB and has one dominant colour, so the bundled emulator's answers (format,
size, colour) are easy to check by eye:

- ``sunset.jpg``: an orange evening sky over dark hills (JPEG).
- ``leaf.png``: a green leaf on a transparent background (PNG with alpha).
- ``note-rotated.jpg``: a yellow sticky note stored sideways with EXIF orientation 6, so it is
  upright (96 x 160) only after the orientation is applied (JPEG).
- ``sky.webp``: a blue sky with two clouds (WebP).

Usage: ``python examples/images/make_images.py [OUTPUT_DIR]`` (default: this script's folder).
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw

EXIF_ORIENTATION = 0x0112
ROTATED_90_CW = 6  # "the 0th row is the visual right-hand side": display turns it 90° clockwise


def sunset() -> Image.Image:
    image = Image.new("RGB", (192, 128))
    draw = ImageDraw.Draw(image)
    for y in range(128):
        # From deep orange at the top to a paler orange at the horizon.
        draw.line([(0, y), (191, y)], fill=(235, 110 + y // 3, 30 + y // 6))
    draw.ellipse([76, 62, 116, 102], fill=(255, 214, 90))
    draw.polygon(
        [(0, 128), (0, 100), (60, 84), (120, 104), (192, 90), (192, 128)], fill=(45, 30, 40)
    )
    return image


def leaf() -> Image.Image:
    image = Image.new("RGBA", (128, 128), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse([24, 16, 104, 112], fill=(60, 160, 60, 255))
    draw.line([(64, 20), (64, 120)], fill=(30, 100, 30, 255), width=3)
    for y in (40, 60, 80):
        draw.line([(64, y + 10), (40, y)], fill=(30, 100, 30, 255), width=2)
        draw.line([(64, y + 10), (88, y)], fill=(30, 100, 30, 255), width=2)
    return image


def note_rotated() -> tuple[Image.Image, bytes]:
    upright = Image.new("RGB", (96, 160), (250, 225, 70))
    draw = ImageDraw.Draw(upright)
    draw.rectangle([0, 0, 95, 18], fill=(235, 200, 40))
    for y in range(36, 150, 16):
        draw.line([(10, y), (86, y)], fill=(120, 110, 60), width=2)
    # Stored sideways: undoing orientation 6 (a 90° clockwise turn) means turning it back.
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = ROTATED_90_CW
    return stored, exif.tobytes()


def sky() -> Image.Image:
    image = Image.new("RGB", (160, 100))
    draw = ImageDraw.Draw(image)
    for y in range(100):
        draw.line([(0, y), (159, y)], fill=(40 + y // 2, 110 + y // 2, 230))
    draw.ellipse([20, 20, 70, 45], fill=(245, 245, 250))
    draw.ellipse([95, 50, 145, 72], fill=(245, 245, 250))
    return image


def main(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    sunset().save(out_dir / "sunset.jpg", quality=80)
    leaf().save(out_dir / "leaf.png", optimize=True)
    stored, exif = note_rotated()
    stored.save(out_dir / "note-rotated.jpg", quality=80, exif=exif)
    sky().save(out_dir / "sky.webp", quality=80)
    for path in sorted(out_dir.iterdir()):
        if path.suffix != ".py":
            print(f"{path.name}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent)
