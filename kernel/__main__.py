"""Allow ``python -m kernel`` as a synonym of the ``batchkernel`` console script.

The command line is a plugin library the kernel never imports: it is found the way the kernel
finds plugins, through an entry point of the installed distribution.
"""

import sys
from importlib.metadata import PackageNotFoundError, distribution

from kernel import PROJECT


def main() -> None:
    """Run the installed ``batchkernel`` console script with this process's arguments."""
    try:
        points = distribution(PROJECT).entry_points
        script = next(iter(points.select(group="console_scripts", name=PROJECT)))
    except (PackageNotFoundError, StopIteration):
        sys.exit(f"python -m kernel: the {PROJECT} package is not installed (pip install -e .)")
    sys.exit(script.load()())


if __name__ == "__main__":
    main()
