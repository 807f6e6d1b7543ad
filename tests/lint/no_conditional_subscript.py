#!/usr/bin/env python3
"""Fails if any C++ source subscripts a parenthesised conditional expression: `(c ? p : q)[i]`.

GCC 12 with -fsanitize=shift miscompiles that shape when the index is a shift (see
tests/compiler/gcc_ubsan_conditional_subscript.cpp and docs/builds.md), and the sanitizer
builds are how we check the engine. Choose the array into a named pointer first.
Usage: no_conditional_subscript.py REPO_ROOT
"""
import pathlib
import re
import sys

FOLDERS = ("sim", "neurons", "learning", "encoders", "experiments", "tests")
STRING_OR_COMMENT = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)


def blank(match):
    # Keeps line numbers: comments and literals become spaces (newlines kept).
    return re.sub(r"[^\n]", " ", match.group(0))


def findings(text):
    code = STRING_OR_COMMENT.sub(blank, text)
    for close in re.finditer(r"\)\s*\[", code):
        depth, i = 0, close.start()
        while i >= 0:  # walk back to the matching '('
            ch = code[i]
            if ch == ")":
                depth += 1
            elif ch == "(":
                depth -= 1
                if depth == 0:
                    break
            i -= 1
        if i < 0:
            continue
        inner, level = code[i + 1 : close.start()], 0
        for ch in inner:  # a '?' at the top level of the parentheses
            level += ch in "([{"
            level -= ch in ")]}"
            if ch == "?" and level == 0:
                yield code.count("\n", 0, i) + 1
                break


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    bad = []
    for folder in FOLDERS:
        for path in sorted((root / folder).rglob("*")):
            if path.suffix not in (".cpp", ".hpp", ".h") or "compiler" in path.parts:
                continue  # tests/compiler holds the reproducer, which must keep the shape
            for line in findings(path.read_text(encoding="utf-8", errors="replace")):
                bad.append(f"{path.relative_to(root)}:{line}: (c ? p : q)[i]: choose the array into a named pointer first")
    for b in bad:
        print(b)
    print(f"{len(bad)} conditional subscripts found" if bad else "no conditional subscripts")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
