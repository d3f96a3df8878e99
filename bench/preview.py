"""Server time of the live-preview endpoint (prompt + sketch partial). Budget: p50 <= 15 ms.

python bench/preview.py [--requests 200]
"""

from __future__ import annotations

import argparse
import sys
import time

from _setup import budget, django_with_scratch_db, exit_code, median, percentile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    django_with_scratch_db("preview")

    from django.test import Client
    from django.urls import reverse

    from studio.characters import vocabulary
    from studio.tests.factories import UserFactory

    client = Client(HTTP_HX_REQUEST="true")
    client.force_login(UserFactory())
    url = reverse("studio:character_preview")
    # Rotate through different attribute values so nothing is served from a cache of one input.
    hair = vocabulary.HAIR_COLOR.choices
    forms = [
        {
            "name": "Bench",
            "gender": "female",
            "hair_color": hair[i % len(hair)].key,
            "hair_style": vocabulary.HAIR_STYLE.choices[i % len(vocabulary.HAIR_STYLE.choices)].key,
            "eye_color": "green",
            "skin_tone": vocabulary.SKIN_TONE.choices[i % len(vocabulary.SKIN_TONE.choices)].key,
            "clothing": "cloak",
            "clothing_color": "red",
            "accessories": ["glasses", "hat"],
            "expression": "smiling",
            "background": vocabulary.BACKGROUND.choices[i % len(vocabulary.BACKGROUND.choices)].key,
            "distinguishing_features": f"a scar number {i}",
        }
        for i in range(args.requests)
    ]
    for form in forms[:10]:  # warm-up: imports, template compilation
        client.post(url, form)
    samples = []
    for form in forms:
        started = time.perf_counter()
        response = client.post(url, form)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200 and b"data:image/png;base64," in response.content
    size = len(response.content)
    print(
        f"live preview: {args.requests} requests, p50 {median(samples):.2f} ms, "
        f"p95 {percentile(samples, 0.95):.2f} ms, max {max(samples):.2f} ms, response {size / 1024:.1f} KB"
    )
    budget("live preview p50", median(samples), "ms", 15)


if __name__ == "__main__":
    main()
    sys.exit(exit_code())
