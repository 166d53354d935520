"""Allow ``python -m kernel`` as a synonym of the ``batchkernel`` console script."""

from kernel.cli.main import main

if __name__ == "__main__":
    main()
