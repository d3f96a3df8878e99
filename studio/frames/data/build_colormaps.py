"""Regenerate colormaps.npz: `pip install matplotlib && python studio/frames/data/build_colormaps.py`.

Matplotlib is only needed here, at build time. The app reads the 256-entry RGB tables from the .npz, so every
Matplotlib colormap (reversed `_r` variants included) is available without a 40 MB plotting dependency.
Levels are mapped the way `imshow(..., vmin=0, vmax=255)` maps them (level / 255), and the 0-1 floats are
rounded to bytes, which gives the published hex values (viridis ends at #fde725).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np


def main() -> None:
    names = sorted(matplotlib.colormaps, key=str.lower)
    levels = np.arange(256) / 255.0
    tables = np.stack(
        [np.rint(matplotlib.colormaps[name](levels)[:, :3] * 255).astype(np.uint8) for name in names]
    )
    target = Path(__file__).with_name("colormaps.npz")
    np.savez_compressed(
        target, names=np.array(names), tables=tables, matplotlib_version=np.array(matplotlib.__version__)
    )
    print(f"wrote {len(names)} colormaps to {target} ({target.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
