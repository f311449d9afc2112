"""Text a photocopier keeps: explanations, shapes, points and diagram headers were light grey
(xcolor's gray, 50% black; #777 on the HTML page) and faded on a copy. Every colour the .tex
gives text is at most 30% white, checked in the source and in the ink of the rendered page;
the HTML page's text colours have a contrast of at least 7:1 on white."""

from __future__ import annotations

import re
import subprocess

import numpy as np
import pytest
from conftest import PROBLEMS, ROOT
from PIL import Image

from nnreport.build import BuildOptions, build

# xcolor's named colours the documents may use, as white fractions (0 black, 1 white)
NAMED = {"black": 0.0, "gray": 0.5, "darkgray": 0.25, "lightgray": 0.75, "white": 1.0}


def whiteness(spec: str) -> float:
    """How light an xcolor expression of greys is: 'black!70' is 70% black and 30% white;
    'gray!60' is 60% gray and 40% white."""
    parts = spec.split("!")
    value = NAMED[parts[0]]
    for k in range(1, len(parts), 2):
        share = float(parts[k]) / 100
        other = NAMED[parts[k + 1]] if k + 1 < len(parts) else 1.0
        value = share * value + (1 - share) * other
    return value


def test_whiteness_follows_xcolor():
    assert whiteness("black!70") == pytest.approx(0.3)
    assert whiteness("gray") == 0.5 and whiteness("gray!60") == pytest.approx(0.7)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    out = tmp_path_factory.mktemp("contrast")
    build(ROOT / "tests" / "data" / "small.yaml", BuildOptions(output=out, kinds=("key",)))
    build(PROBLEMS / "exam2.yaml", BuildOptions(output=out, kinds=("key",), pdf=False))
    return out


def test_text_colours_in_the_tex_are_dark(small):
    texts = [(small / "small" / "small-key.tex").read_text(),
             (small / "exam2" / "exam2-key.tex").read_text()]  # with its TikZ diagrams inline
    found = []
    for tex in texts:
        found += re.findall(r"\\color\{([^}]*)\}", tex)
        found += re.findall(r"\btext=([a-z!0-9]+)", tex)
    assert len(found) > 20
    for spec in set(found):
        if "blue" in spec:  # the diagrams' biases: blue!60!black, 40% black in blue
            continue
        assert whiteness(spec) <= 0.3 + 1e-9, spec


def test_an_explanation_is_printed_dark(small):
    """The note over a step ('the gradient of the batch loss adds up ...') at 300 dpi: its
    strokes reach the grey the source asks for (black!70: 77 of 255), not xcolor's gray (128)."""
    pdf = small / "small" / "small-key.pdf"
    words = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True,
                           text=True).stdout
    note = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" '
                      r'yMax="([\d.]+)">adds</word>')
    number, hit = next((k, note.search(page)) for k, page in
                       enumerate(words.split("<page ")[1:], 1) if note.search(page))
    png = small / "page"
    subprocess.run(["pdftoppm", "-png", "-r", "300", "-gray", "-f", str(number), "-l",
                    str(number), "-singlefile", str(pdf), str(png)], check=True)
    ink = np.asarray(Image.open(f"{png}.png"))
    x0, y0, x1, y1 = (round(float(v) * 300 / 72) for v in hit.groups())
    darkest = int(ink[y0:y1, x0:x1].min())
    assert darkest <= 90, darkest  # gray would print no darker than about 128


def _contrast_on_white(hexcolour: str) -> float:
    h = hexcolour.lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    c = np.array([int(h[i:i + 2], 16) / 255 for i in (0, 2, 4)])
    c = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    lum = 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]
    return 1.05 / (lum + 0.05)


def test_html_text_colours_have_contrast():
    css = (ROOT / "nnreport" / "templates" / "page.html.j2").read_text()
    colours = re.findall(r"(?<![-\w])color:\s*(#[0-9a-fA-F]{3,6})", css)
    assert len(colours) >= 3
    for c in colours:
        assert _contrast_on_white(c) >= 7, c
