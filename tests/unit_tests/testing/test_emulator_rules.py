"""The emulator's pure rules, without a server: schema instances, colour names, image checks,
and the import error without the ``testing`` extra."""

from __future__ import annotations

import base64
import io
import random
import subprocess
import sys
from typing import Annotated, Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from pydantic import BaseModel, Field, TypeAdapter
from typing_extensions import TypedDict

from langchain_flexai.testing import DEFAULT_CATALOG, colour_name, schema_instance
from langchain_flexai.testing._errors import EmulatedError
from langchain_flexai.testing._images import inspect_image_part
from langchain_flexai.testing._model import answer
from langchain_flexai.testing._request import lookup_model, read_request


class Inner(BaseModel):
    """Nested."""

    flag: bool
    label: Literal["a", "b"]


class Everything(BaseModel):
    """Most keywords a tool schema carries."""

    name: str
    short: Annotated[str, Field(min_length=10, max_length=12)]
    count: Annotated[int, Field(ge=5, multiple_of=4)]
    above: Annotated[int, Field(gt=7)]
    ratio: float
    tags: Annotated[list[str], Field(min_length=3)]
    inner: Inner
    maybe: int | None = None
    colour: Literal["red", "blue"] = "blue"
    nested: list[Inner] = Field(default_factory=list)


class TestSchemaInstance:
    def test_pydantic_model_validates(self) -> None:
        instance = schema_instance(Everything.model_json_schema())
        assert Everything.model_validate(instance)
        assert instance == {
            "name": "name",
            "short": "shortxxxxx",
            "count": 8,
            "above": 8,
            "ratio": 0.0,
            "tags": ["tags", "tags", "tags"],
            "inner": {"flag": True, "label": "a"},
            "maybe": 0,
            "colour": "blue",
            "nested": [],
        }

    @pytest.mark.parametrize(
        ("schema", "expected"),
        [
            ({}, "value"),
            ({"type": "object"}, {}),
            ({"const": 3}, 3),
            ({"type": ["null", "integer"], "minimum": 2}, 2),
            ({"type": "string", "format": "date-time"}, "1970-01-01T00:00:00Z"),
            ({"type": "string", "maxLength": 2}, "va"),
            ({"allOf": [{"properties": {"a": {"type": "integer"}}}, {"required": ["a"]}]},
             {"a": 0}),
            ({"type": "array", "prefixItems": [{"type": "integer"}, {"type": "boolean"}]},
             [0, True]),
            ({"$ref": "#/$defs/missing"}, "value"),
        ],
    )  # fmt: skip
    def test_rules(self, schema: dict[str, Any], expected: Any) -> None:
        assert schema_instance(schema) == expected

    def test_unicode_and_typeddict(self) -> None:
        class Customer(TypedDict):
            customer_name: str
            employees: int

        schema = TypeAdapter(Customer).json_schema()
        assert TypeAdapter(Customer).validate_python(schema_instance(schema))

    def test_recursive_schema_terminates(self) -> None:
        schema = {
            "$defs": {
                "Node": {"type": "object", "properties": {"child": {"$ref": "#/$defs/Node"}}}
            },
            "$ref": "#/$defs/Node",
        }
        instance = schema_instance(schema)
        depth = 0
        while isinstance(instance, dict):
            instance, depth = instance["child"], depth + 1
        assert 5 < depth < 20


def _image(colour: Any, mode: str = "RGB", size: tuple[int, int] = (32, 32)) -> Image.Image:
    return Image.new(mode, size, colour)


class TestColourName:
    @pytest.mark.parametrize(
        ("colour", "name"),
        [
            ((255, 0, 0), "red"),
            ((0, 255, 0), "green"),
            ((0, 0, 255), "blue"),
            ((255, 255, 0), "yellow"),
            ((0, 255, 255), "cyan"),
            ((255, 0, 255), "magenta"),
            ((128, 0, 200), "purple"),
            ((255, 140, 0), "orange"),
            ((120, 70, 15), "brown"),
            ((0, 0, 0), "black"),
            ((255, 255, 255), "white"),
            ((128, 128, 128), "gray"),
        ],
    )
    def test_solid_colours(self, colour: tuple[int, int, int], name: str) -> None:
        assert colour_name(_image(colour)) == name

    def test_majority_wins_and_transparency_is_skipped(self) -> None:
        img = _image((0, 0, 255, 255), "RGBA", (10, 10))
        img.paste((255, 0, 0, 255), (0, 0, 10, 4))  # 40 % red, 60 % blue
        assert colour_name(img) == "blue"
        img.paste((0, 0, 255, 0), (0, 4, 10, 10))  # the blue becomes transparent
        assert colour_name(img) == "red"
        assert colour_name(_image((0, 0, 0, 0), "RGBA")) == "transparent"

    @pytest.mark.parametrize(
        ("colour", "name"),
        [
            ((50, 50, 50), "black"),  # V < 51
            ((51, 51, 51), "gray"),
            ((216, 216, 216), "gray"),  # V < 217
            ((217, 217, 217), "white"),
            ((255, 205, 205), "white"),  # S = 50/255 * 255 < 51
            ((255, 200, 200), "red"),  # S = 55/255 * 255 >= 51
            ((152, 76, 0), "brown"),  # orange hue, V < 153
            ((153, 76, 0), "orange"),
            ((255, 63, 0), "red"),  # 14.8°: hue byte 10
            ((255, 68, 0), "orange"),  # 16°: hue byte 11
            ((255, 0, 68), "magenta"),  # 344°: hue byte 243
            ((255, 0, 60), "red"),  # 345.9°: hue byte 245
        ],
    )
    def test_the_documented_thresholds(self, colour: tuple[int, int, int], name: str) -> None:
        assert colour_name(_image(colour)) == name

    def test_a_large_image_is_sampled_and_left_as_it_was(self) -> None:
        img = _image((0, 0, 255), size=(3000, 2000))
        img.paste((255, 0, 0), (0, 0, 3000, 900))  # 45 % red, 55 % blue
        before = img.tobytes()
        assert colour_name(img) == "blue"
        assert img.size == (3000, 2000)
        assert img.tobytes() == before

    def test_alpha_held_in_a_palette_is_honoured(self) -> None:
        img = _image((255, 0, 0, 0), "RGBA", (10, 10))  # transparent red ...
        img.paste((0, 0, 255, 255), (0, 0, 10, 4))  # ... under 40 % opaque blue
        paletted = img.convert("P")
        assert "transparency" not in paletted.info  # the alpha lives in the palette
        assert colour_name(paletted) == "blue"

    def test_tie_goes_to_the_earlier_name(self) -> None:
        img = _image((255, 0, 0), size=(10, 10))
        img.paste((0, 0, 0), (0, 0, 10, 5))
        assert colour_name(img) == "black"

    @settings(max_examples=60, deadline=None)
    @given(
        seed=st.integers(0, 2**32 - 1),
        size=st.tuples(st.integers(1, 64), st.integers(1, 64)),
        alpha=st.booleans(),
    )
    def test_many_colour_images_follow_the_documented_rule(
        self, seed: int, size: tuple[int, int], *, alpha: bool
    ) -> None:
        # Noise over few colours (so ties and near-ties happen) or over all of them, each
        # pixel named by the docstring's rule in plain Python: the vectorised count agrees.
        rng = random.Random(seed)
        palette = [
            tuple(rng.randrange(256) for _ in range(4)) for _ in range(rng.choice([2, 5, 64]))
        ]
        pixels = [rng.choice(palette) for _ in range(size[0] * size[1])]
        img = Image.new("RGBA", size)
        img.frombytes(bytes(channel for pixel in pixels for channel in pixel))
        if not alpha:
            img = img.convert("RGB")
        assert colour_name(img) == _reference_colour(img)


_NAMES = (
    "black", "white", "gray", "red", "orange", "brown",
    "yellow", "green", "cyan", "blue", "purple", "magenta",
)  # fmt: skip
_HUE_UPPER = ((11, "red"), (32, "orange"), (50, "yellow"), (117, "green"), (139, "cyan"),
              (181, "blue"), (206, "purple"), (245, "magenta"), (256, "red"))  # fmt: skip


def _reference_colour(img: Image.Image) -> str:
    """``colour_name``'s docstring, pixel by pixel (images of at most 64x64, not sampled)."""
    hsv = img.convert("RGB").convert("HSV").tobytes()
    pixels = [tuple(hsv[i : i + 3]) for i in range(0, len(hsv), 3)]
    alphas = img.getchannel("A").tobytes() if img.mode == "RGBA" else bytes([255]) * len(pixels)
    counts = dict.fromkeys(_NAMES, 0)
    for (h, s, v), a in zip(pixels, alphas, strict=True):
        if a < 128:
            continue
        if v < 51:
            name = "black"
        elif s < 51:
            name = "white" if v >= 217 else "gray"
        else:
            name = next(n for upper, n in _HUE_UPPER if h < upper)
            name = "brown" if name == "orange" and v < 153 else name
        counts[name] += 1
    best = max(counts.values())
    return "transparent" if not best else next(n for n in _NAMES if counts[n] == best)


def _png(size: tuple[int, int] = (4, 4)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "red").save(buffer, "PNG")
    return buffer.getvalue()


def test_inspect_reads_size_without_any_socket() -> None:
    url = "data:image/png;base64," + base64.b64encode(_png((7, 3))).decode()
    report = inspect_image_part({"type": "image_url", "image_url": {"url": url}}, "m")
    assert (report.format, report.width, report.height, report.colour) == ("PNG", 7, 3, "red")
    assert report.tokens == 1


def test_https_is_never_fetched() -> None:
    part = {"type": "image_url", "image_url": {"url": "https://example.com/x.png"}}
    report = inspect_image_part(part, "m")  # under --disable-socket: a fetch would fail
    assert (report.source, report.width, report.tokens) == ("https", None, 256)


def test_data_url_rejects_non_strict_base64() -> None:
    url = "data:image/png;base64," + base64.b64encode(_png()).decode()[:-1]
    with pytest.raises(EmulatedError) as error:
        inspect_image_part({"type": "image_url", "image_url": {"url": url}}, "m")
    assert error.value.status == 400
    assert error.value.code == "invalid_image"


def test_import_without_the_extra_names_it() -> None:
    # The package imports (the pytest plugin needs it to); the emulator's names do not.
    code = (
        "import sys; sys.modules['starlette'] = None\n"
        "import langchain_flexai.testing\n"
        "try:\n    from langchain_flexai.testing import FlexAIEmulator\n"
        "except ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out == (
        "langchain_flexai.testing needs Starlette and uvicorn: "
        'pip install "langchain-flexai[testing]"\n'
    )


def test_every_public_name_imports_with_the_extra() -> None:
    from langchain_flexai import testing  # noqa: PLC0415

    assert set(testing.__all__) <= set(dir(testing))
    for name in testing.__all__:
        assert getattr(testing, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = testing.nope


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
_KEYS = st.sampled_from(
    ["model", "messages", "tools", "tool_choice", "response_format", "stop", "max_tokens",
     "stream", "stream_options", "role", "content", "type", "text", "image_url", "url",
     "function", "name", "parameters", "tool_calls", "tool_call_id", "json_schema", "schema"]
)  # fmt: skip
_SHAPED = st.recursive(
    st.none() | st.booleans() | st.integers(-2, 3) | st.sampled_from(
        ["phi-4-multimodal-instruct", "user", "tool", "assistant", "text", "image_url",
         "required", "auto", "function", "json_schema", "json_object", "f",
         "data:image/png;base64,", "https://example.com/a.png"]
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=5),
    max_leaves=25,
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(body=st.one_of(_JSON, _SHAPED))
def test_any_body_is_answered_or_refused_never_crashes(body: Any) -> None:
    catalog = {model.id: model for model in DEFAULT_CATALOG}
    try:
        requested, model = lookup_model(body, catalog)
        answer(read_request(body, requested, model))
    except EmulatedError as error:
        status = error.status
    else:
        status = 200
    assert status in {200, 400}
