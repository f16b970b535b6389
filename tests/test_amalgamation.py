"""c_reader/kwbin_nn.h is exactly the amalgamation of its parts in c_reader/nn/."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_kwbin_nn_h_is_the_amalgamation_of_its_parts():
    result = subprocess.run(
        [sys.executable, str(ROOT / "c_reader" / "nn" / "amalgamate.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_every_part_is_listed_in_the_parts_readme():
    readme = (ROOT / "c_reader" / "nn" / "README.md").read_text(encoding="utf-8")
    for part in sorted((ROOT / "c_reader" / "nn").glob("*.h")):
        assert f"`{part.name}`" in readme, part.name
