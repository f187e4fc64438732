"""``python -m bench NAME [--quick]``: run one benchmark module, print its table and a JSON line."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import pkgutil
import sys
from pathlib import Path

import bench


def available() -> list[str]:
    return sorted(
        m.name for m in pkgutil.iter_modules([str(Path(bench.__file__).parent)]) if not m.name.startswith("_")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("name", choices=available())
    parser.add_argument("--quick", action="store_true", help="a smaller run that finishes in under a minute")
    name = parser.parse_known_args(argv)[0].name
    module = importlib.import_module(f"bench.{name}")
    # A benchmark with options of its own (chaos: --mentions, --kills...) declares them; run() gets them.
    add_arguments = getattr(module, "add_arguments", None)
    if add_arguments is not None:
        add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    options = {k: v for k, v in vars(args).items() if k not in ("name", "quick")}
    figures = module.run(quick=args.quick, **options)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
