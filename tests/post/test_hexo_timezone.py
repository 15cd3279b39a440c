"""Each post is filed under its batch label's day whatever the Hexo site's timezone."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.post.test_hexo import built, hexo_generate  # noqa: F401  (`built`: a fixture)


@pytest.mark.parametrize(
    ("timezone", "machine"),
    [
        ("Asia/Shanghai", "UTC"),
        ("America/Los_Angeles", "UTC"),
        ("Asia/Shanghai", "Asia/Shanghai"),
        ("America/Los_Angeles", "America/Los_Angeles"),
    ],
)
def test_every_post_is_filed_under_its_day(built, tmp_path, timezone, machine):  # noqa: F811
    site = tmp_path / "site"
    ignore = shutil.ignore_patterns("node_modules", "public", "db.json")
    shutil.copytree(built.site, site, ignore=ignore)
    (site / "node_modules").symlink_to(built.site / "node_modules", target_is_directory=True)
    with (site / "_config.yml").open("a", encoding="utf-8") as config:
        config.write(f"timezone: {timezone}\n")
    run = hexo_generate(site, {**os.environ, "TZ": machine})
    assert run.returncode == 0, run.stdout + run.stderr
    for stem in built.pages:
        day = stem[:10].replace("-", "/")  # 2024-10-07-diffusion-models -> 2024/10/07
        assert (site / "public" / day / stem / "index.html").is_file(), stem
