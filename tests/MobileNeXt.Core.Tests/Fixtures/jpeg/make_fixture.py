"""Writes the JPEG decoding fixture: two small JPEGs and the RGB bytes PIL decodes them to.

Run with Debian's /usr/bin/python3 (python3-pil, which links libjpeg62-turbo 2.1.5, as torchvision's loader does):
    /usr/bin/python3 make_fixture.py
The picture is 77x53 (neither side a multiple of the 16-pixel 4:2:0 block, so partial edge blocks are covered): a
colour gradient with seeded noise, encoded once as baseline 4:2:0 and once as progressive 4:2:0.
"""
import os
import random

from PIL import Image, features

WIDTH, HEIGHT = 77, 53
here = os.path.dirname(os.path.abspath(__file__))

rng = random.Random(3)
image = Image.new("RGB", (WIDTH, HEIGHT))
image.putdata([(min(255, 3 * x + rng.randrange(40)), min(255, 4 * y + rng.randrange(40)), (5 * x + 7 * y) % 256)
               for y in range(HEIGHT) for x in range(WIDTH)])

for name, progressive in [("baseline420", False), ("progressive420", True)]:
    path = os.path.join(here, name + ".jpg")
    image.save(path, quality=90, subsampling=2, progressive=progressive, optimize=False)
    decoded = Image.open(path).convert("RGB")
    with open(os.path.join(here, name + ".rgb"), "wb") as out:
        out.write(decoded.tobytes())

print("libjpeg", features.version("jpg"), "libjpeg-turbo", features.version_feature("libjpeg_turbo"))
