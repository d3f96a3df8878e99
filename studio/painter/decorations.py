"""The background: its gradient and the seed-driven scenery behind the figure."""

from __future__ import annotations

import random

import numpy as np
from PIL import Image

from .canvas import RGB, _Brush, _Canvas, _jitter, _lighten, _mix, _shade
from .look import _Look

# --- background ------------------------------------------------------------------------------------


def _gradient(look: _Look) -> tuple[RGB, RGB]:
    top = look.background_rgb
    if look.palette:
        tint = tuple(sum(c[i] for c in look.palette) // len(look.palette) for i in range(3))
        top = _mix(top, tint, 0.3)  # type: ignore[arg-type]
    bottom = {
        "plain": _shade(top, 0.92),
        "none": top,
        "gradient": _mix(top, (96, 70, 150), 0.55),
        "space": _mix(top, (40, 20, 70), 0.6),
        "night_city": _mix(top, (90, 20, 90), 0.5),
        "beach": (226, 204, 150),
        "desert": _shade(top, 0.8),
    }.get(look.background, _shade(top, 0.7))
    return top, bottom


def _background(look: _Look, size: int, mode: str) -> _Canvas:
    top, bottom = _gradient(look)
    if mode == "P":
        # A palette image keeps the sketch's PNG encoding cheap (no filters); the gradient becomes bands.
        canvas = _Canvas(Image.new("P", (size, size), 0))
        bands = 1 if top == bottom else 12
        for band in range(bands):
            colour = _mix(top, bottom, band / max(1, bands - 1))
            canvas.draw.rectangle((0, size * band // bands, size, size), fill=canvas.ink(colour))
        return canvas
    if top == bottom:
        return _Canvas(Image.new(mode, (size, size), top))
    # One column of the gradient, stretched sideways: far cheaper than compositing full-size images.
    t = np.linspace(0.0, 1.0, size, dtype=np.float32)[:, None]
    column = np.rint(np.asarray(top, np.float32) * (1 - t) + np.asarray(bottom, np.float32) * t)
    strip = Image.fromarray(column.astype(np.uint8)[:, None, :])
    return _Canvas(strip.resize((size, size), Image.Resampling.NEAREST))


def _decorate(brush: _Brush, look: _Look, rng: random.Random) -> None:
    """Seed-driven scenery in image units (0..1); keeps clear of the top-left corner."""
    bg = look.background_rgb
    accents = look.palette or ((240, 200, 90), (90, 200, 230), (230, 110, 160))
    kind = look.background
    if kind == "space":
        for _ in range(rng.randint(50, 90)):
            x, y = rng.random(), rng.random()
            if x + y > 0.12:
                brush.dots(
                    [(x, y)],
                    rng.choice((0.002, 0.003, 0.005)),
                    _mix((255, 255, 240), rng.choice(accents), 0.2),
                )
        px, py, pr = rng.uniform(0.72, 0.9), rng.uniform(0.12, 0.3), rng.uniform(0.05, 0.09)
        brush.ellipse(px, py, pr, pr, _mix(rng.choice(accents), bg, 0.3))
        brush.line(brush.arc(px, py, pr * 1.8, pr * 0.4, 160, 380), _lighten(rng.choice(accents), 0.4), 0.006)
    elif kind == "forest":
        for layer, shade in ((0, 0.8), (1, 0.6)):
            for _ in range(rng.randint(6, 9)):
                x, top = rng.uniform(-0.05, 1.05), rng.uniform(0.22, 0.5) + layer * 0.12
                w = rng.uniform(0.06, 0.1)
                colour = _jitter(_shade(bg, shade), rng, 8)
                brush.poly([(x, top), (x + w, 1.0), (x - w, 1.0)], colour, edge=False)
                brush.poly(
                    [(x - 0.012, 0.9), (x + 0.012, 0.9), (x + 0.012, 1.0), (x - 0.012, 1.0)],
                    (70, 50, 36),
                    False,
                )
    elif kind in ("city", "night_city"):
        night = kind == "night_city"
        x = rng.uniform(0.1, 0.2)
        while x < 1.0:
            w, top = rng.uniform(0.08, 0.16), rng.uniform(0.3, 0.62)
            body = _jitter(_shade(bg, 0.75 if night else 0.85), rng, 10)
            brush.rect(x, top, x + w, 1.0, body)
            lit = [rng.choice(accents) if night else (236, 214, 150), _shade(body, 0.7)]
            for wy in range(int((1 - top) / 0.05)):
                for wx in range(int(w / 0.035)):
                    colour = lit[0] if rng.random() < (0.35 if night else 0.5) else lit[1]
                    px, py = x + 0.012 + wx * 0.035, top + 0.02 + wy * 0.05
                    brush.rect(px, py, px + 0.015, py + 0.022, colour)
            x += w + rng.uniform(0.0, 0.03)
        if night:
            brush.ellipse(rng.uniform(0.7, 0.9), 0.12, 0.04, 0.04, (236, 232, 210), False)
    elif kind == "castle":
        stone = _shade(bg, 0.82)
        for row in range(1, 14):
            y = row * 0.075
            brush.line([(0.15 if row < 3 else 0.0, y), (1.0, y)], stone, 0.004)
            offset = 0.06 if row % 2 else 0.0
            for col in range(9):
                bx = offset + col * 0.12
                if bx > 0.12 or row > 2:
                    brush.line([(bx, y), (bx, y + 0.075)], stone, 0.004)
        ax = rng.choice((0.16, 0.84))
        brush.poly(
            [*brush.arc(ax, 0.32, 0.07, 0.08, 180, 360), (ax + 0.07, 0.55), (ax - 0.07, 0.55)], (60, 60, 80)
        )
        brush.poly(
            [
                (1 - ax - 0.05, 0.18),
                (1 - ax + 0.05, 0.18),
                (1 - ax + 0.05, 0.42),
                (1 - ax, 0.38),
                (1 - ax - 0.05, 0.42),
            ],
            rng.choice(((150, 30, 40), (40, 60, 130), (30, 100, 60))),
        )
    elif kind == "beach":
        sun_x = rng.uniform(0.65, 0.9)
        brush.ellipse(sun_x, rng.uniform(0.12, 0.22), 0.06, 0.06, (255, 236, 150), False)
        brush.poly([(0, 0.58), (1, 0.58), (1, 0.74), (0, 0.74)], (40, 110, 170), False)
        for _ in range(6):
            wx, wy = rng.random(), rng.uniform(0.6, 0.72)
            brush.line([(wx, wy), (wx + 0.05, wy)], (200, 230, 245), 0.004)
        for _ in range(rng.randint(2, 4)):
            gx, gy = rng.uniform(0.3, 0.9), rng.uniform(0.1, 0.3)
            brush.line([(gx - 0.02, gy - 0.01), (gx, gy), (gx + 0.02, gy - 0.01)], (60, 60, 70), 0.004)
    elif kind == "mountains":
        for shade, base, snow in ((0.8, 0.55, True), (0.62, 0.72, False)):
            x = rng.uniform(-0.3, -0.1)
            while x < 1.1:
                w, peak = rng.uniform(0.25, 0.4), base - rng.uniform(0.1, 0.25)
                colour = _jitter(_shade(bg, shade), rng, 6)
                brush.poly([(x, 1.0), (x + w / 2, peak), (x + w, 1.0)], colour, False)
                if snow:
                    brush.poly(
                        [(x + w / 2, peak), (x + w * 0.38, peak + 0.06), (x + w * 0.62, peak + 0.06)],
                        (240, 244, 248),
                        False,
                    )
                x += w * rng.uniform(0.6, 0.9)
    elif kind == "library":
        spines = [
            _mix(base, accent, 0.25)
            for base in ((120, 40, 40), (40, 70, 110), (50, 90, 60), (150, 120, 60))
            for accent in accents[:2]
        ]
        for shelf in range(4):
            y = 0.22 + shelf * 0.22
            brush.poly([(0, y), (1, y), (1, y + 0.025), (0, y + 0.025)], _shade(bg, 0.7), False)
            x = 0.14 if shelf == 0 else 0.0
            while x < 1.0:
                w, h = rng.uniform(0.02, 0.04), rng.uniform(0.12, 0.18)
                colour = rng.choice(spines)
                brush.rect(x, y - h, x + w, y, colour, _shade(colour, 0.6))
                x += w + 0.002
    elif kind == "desert":
        sun_x = rng.uniform(0.7, 0.9)
        brush.ellipse(sun_x, rng.uniform(0.12, 0.2), 0.07, 0.07, (255, 240, 200), False)
        for i in range(3):
            cx = rng.uniform(0.1, 0.9)
            brush.ellipse(cx, 0.78 + i * 0.08, 0.6, 0.12, _jitter(_shade(bg, 0.9 - i * 0.06), rng, 6), False)
        cx = rng.choice((0.12, 0.88))
        cactus = (70, 120, 70)
        brush.line([(cx, 0.9), (cx, 0.62)], cactus, 0.03)
        brush.line([(cx - 0.04, 0.7), (cx - 0.04, 0.76), (cx, 0.78)], cactus, 0.018)
    elif kind == "studio":
        for i in range(4):
            r = 0.45 - i * 0.08
            brush.ellipse(0.5, 0.42, r, r, _mix(bg, (255, 255, 255), 0.06 * (i + 1)), False)
    elif kind == "gradient":
        for _ in range(rng.randint(5, 9)):
            x, y, r = rng.uniform(0.05, 0.95), rng.uniform(0.1, 0.95), rng.uniform(0.02, 0.07)
            if x + y > 0.25:
                brush.ellipse(x, y, r, r, _mix(_shade(bg, 0.9), rng.choice(accents), 0.25), False)
    if look.pose == "action":
        for _ in range(6):
            y = rng.uniform(0.3, 0.9)
            x = rng.choice((rng.uniform(0.0, 0.1), rng.uniform(0.78, 0.88)))
            brush.line([(x, y), (x + 0.12, y - 0.03)], _lighten(bg, 0.5), 0.004)
