"""`python cli.py ARGS` behaves exactly like `tessera ARGS` (a thin shim over tessera.cli)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "platform"))

from tessera.cli import main  # noqa: E402

if __name__ == "__main__":
    main()
