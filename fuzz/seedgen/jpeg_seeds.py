#!/usr/bin/env python3
"""Writes small synthetic JPEGs (baseline, progressive, EXIF orientation 6, grey, CMYK,
4:2:0 with odd sizes) to corpus/jpeg_header with Pillow (the project's bench/route venv has
it: bench/route/.venv/bin/python seedgen/jpeg_seeds.py). Run from fuzz/."""
import io

from PIL import Image

OUT = 'corpus/jpeg_header/'


def save(name, image, **options):
    buffer = io.BytesIO()
    image.save(buffer, 'JPEG', **options)
    open(OUT + 'gen_' + name, 'wb').write(buffer.getvalue())


picture = Image.new('RGB', (48, 32))
for x in range(48):
    for y in range(32):
        picture.putpixel((x, y), ((x * 5) % 256, (y * 8) % 256, ((x + y) * 3) % 256))
save('baseline_48x32.jpg', picture, quality=80)
save('progressive_48x32.jpg', picture, quality=60, progressive=True)
exif = Image.Exif()
exif[0x0112] = 6
save('orient6_32x48.jpg', picture.rotate(90, expand=True), quality=70, exif=exif.tobytes())
save('grey_24x24.jpg', picture.convert('L').resize((24, 24)), quality=75)
save('cmyk_16x16.jpg', picture.convert('CMYK').resize((16, 16)), quality=75)
save('subsampled_130x9.jpg', picture.resize((130, 9)), quality=50, subsampling=2)
