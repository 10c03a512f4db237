"""The scratch directory of one benchmark run: its processes' logs and databases."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def scratch_workdir(prefix: str, keep: bool = False) -> Iterator[Path]:
    """A new directory under the system's temporary directory, removed after the run unless
    `keep`; a run that fails keeps it, and says where, so its logs can be read."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield workdir
    except BaseException:
        keep = True
        raise
    finally:
        if keep:
            print(f"Work directory kept (logs and databases): {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
