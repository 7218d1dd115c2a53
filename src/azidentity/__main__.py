"""``python -m azidentity``: the same command line as the ``azidentity`` script."""

from ._cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
