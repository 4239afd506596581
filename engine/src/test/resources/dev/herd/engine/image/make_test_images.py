"""Offline: WebP and JPEG test images and Pillow 12.3's decoding of them (libwebp, libjpeg-turbo), for ImageDecoderTest.

python make_test_images.py   (writes the images and *.rgb.u8 here; .rgb.u8 = Pillow's RGB after exif_transpose, [h][w][3])
"""
import numpy as np
from PIL import Image, ImageOps

def pattern(w, h, alpha):
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.stack([(x * 255 // (w - 1)), (y * 255 // (h - 1)), ((x * 37 + y * 91) % 256)], -1).astype(np.uint8)
    if not alpha:
        return Image.fromarray(rgb, "RGB")
    a = ((x + y) * 255 // (w + h - 2)).astype(np.uint8)
    return Image.fromarray(np.dstack([rgb, a]), "RGBA")

def smooth(w, h):
    y, x = np.mgrid[0:h, 0:w]
    return Image.fromarray(np.stack([x * 255 // (w - 1), y * 255 // (h - 1), (x + y) * 127 // (w + h - 2) + 64], -1).astype(np.uint8), "RGB")

def photo(w, h):
    y, x = np.mgrid[0:h, 0:w]
    r = 128 + 100 * np.sin(x / 7.0) * np.cos(y / 5.0)
    g = x * 255 // (w - 1)
    b = (y * 3 + (x * y) % 17 * 4) % 256
    return Image.fromarray(np.stack([r, g, b], -1).clip(0, 255).astype(np.uint8), "RGB")

def save(img, name, ext="webp", **kw):
    img.save(name + "." + ext, **kw)
    back = ImageOps.exif_transpose(Image.open(name + "." + ext)).convert("RGB")
    np.asarray(back).tofile(name + ".rgb.u8")
    print(name, back.size)

save(pattern(12, 9, True), "lossless_rgba_12x9", lossless=True, exact=True)
save(smooth(48, 32), "lossy_smooth_48x32", quality=90)
exif = Image.Exif()
exif[0x0112] = 6
save(pattern(12, 9, False), "lossless_orientation6_12x9", lossless=True, exif=exif.tobytes())
save(photo(64, 48), "pillow_420_64x48", "jpg", quality=85, subsampling="4:2:0")
save(photo(64, 48), "pillow_progressive_422_64x48", "jpg", quality=75, subsampling="4:2:2", progressive=True)
