"""A progress bar on stderr for long packs: tqdm when installed, a plain one otherwise.

Shown only for sources over ``THRESHOLD`` bytes, when stderr is a terminal
and the caller did not ask for quiet.
"""

from __future__ import annotations

import contextlib
import sys
import time
from typing import Callable, Iterator

THRESHOLD = 50 << 20


@contextlib.contextmanager
def progress_bar(total: int, *, enabled: bool = True) -> Iterator[Callable[[int], None]]:
    if not enabled or total < THRESHOLD or not sys.stderr.isatty():
        yield lambda n: None
        return
    try:
        from tqdm import tqdm
    except ImportError:
        with _plain(total) as advance:
            yield advance
        return
    with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr, leave=False) as bar:
        yield bar.update


@contextlib.contextmanager
def _plain(total: int) -> Iterator[Callable[[int], None]]:
    done = 0
    last = 0.0

    def advance(n: int) -> None:
        nonlocal done, last
        done += n
        now = time.monotonic()
        if now - last > 0.2 or done >= total:
            last = now
            sys.stderr.write(f"\rpacking {min(done, total) / total:6.1%} of {total >> 20} MiB")
            sys.stderr.flush()

    try:
        yield advance
    finally:
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()
