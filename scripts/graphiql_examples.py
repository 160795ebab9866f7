"""Write GraphiQL's example queries (`graphiam/web/graphiql/examples.json`) from the README.

    .venv/bin/python scripts/graphiql_examples.py [--check]

The examples are the README's "What you can ask (GraphQL)" block: each run of `#` comment lines and the
operation after it is one example, titled by the first question of its first comment line. GraphiQL's
Examples panel lists them (graphiam serves the JSON; the README is not part of the installed package).
`--check` writes nothing and exits 1 when the file would change (tests/web/test_serving.py runs it, so an
edited README example fails the tests until this script is run).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
OUT = ROOT / "graphiam" / "web" / "graphiql" / "examples.json"


def _title(line: str) -> str:
    """The first question of a comment line (up to its `?`), else what comes before its first `:`."""
    for end in ("?", ":"):
        cut = line.find(end)
        if cut > 0:
            return line[: cut + 1] if end == "?" else line[:cut]
    return line


def readme_examples(text: str) -> list[dict[str, Any]]:
    """`[{"title", "query"}]`: the comment block and the operation of each example, in README order, titled
    by the first question of the first comment line."""
    section = text.split("## What you can ask", 1)[1].split("\n## ", 1)[0]
    block = section.split("```graphql\n", 1)[1].split("```", 1)[0]
    examples: list[dict[str, Any]] = []
    comments: list[str] = []
    operation: list[str] = []

    def flush() -> None:
        if operation:
            title = _title(comments[0].lstrip("#").strip() if comments else operation[0].strip())
            examples.append({"title": title, "query": "\n".join([*comments, *operation]) + "\n"})
        comments.clear()
        operation.clear()

    for line in block.splitlines():
        if not line.strip():
            flush()
        elif line.startswith("#"):
            if operation:
                flush()
            comments.append(line)
        else:
            operation.append(line)
    flush()
    return examples


def render() -> str:
    return (
        json.dumps(readme_examples(README.read_text(encoding="utf-8")), indent=2, ensure_ascii=False) + "\n"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if the file would change; write nothing")
    args = ap.parse_args(argv)
    text = render()
    current = OUT.read_text(encoding="utf-8") if OUT.exists() else None
    if args.check:
        if current != text:
            print(
                f"{OUT.relative_to(ROOT)} is out of date: run python scripts/graphiql_examples.py",
                file=sys.stderr,
            )
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)} ({len(json.loads(text))} examples)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
