#!/usr/bin/env python3
"""Source rules that a compiler does not enforce, checked by ctest (no build needed).

  source_rules.py RULE REPO_ROOT     RULE: conditional_subscript | literal_streams | layering

conditional_subscript: no `(c ? p : q)[i]`. GCC 12 with -fsanitize=shift miscompiles that shape
  when the index is a shift (tests/compiler/gcc_ubsan_conditional_subscript.cpp,
  docs/builds.md), and the sanitizer build is how we check the engine. Choose the array into a
  named pointer first.
literal_streams: no random stream id written as a number where it is drawn
  (`philox4x32(seed, 0x..., ...)`): every stream comes from the registry in sim/core/rng.hpp
  (enum kspike::stream), so that two uses cannot collide unseen.
layering: no folder cycle. sim/core/ includes nothing else of the project; neurons/,
  learning/ and encoders/ include only their own folder and sim/core/ (the engine in sim/
  includes them, never the other way round; docs/architecture.md).
"""
import pathlib
import re
import sys

STRING_OR_COMMENT = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)
LITERAL_STREAM = re.compile(r"philox4x32\(\s*[^,()]+(?:\([^()]*\))?\s*,\s*(0x[0-9A-Fa-f]+|\d+)")


def blank(match):
    # Comments and literals become spaces; newlines stay, so line numbers stay right.
    return re.sub(r"[^\n]", " ", match.group(0))


def conditional_subscripts(code):
    for close in re.finditer(r"\)\s*\[", code):
        depth, i = 0, close.start()
        while i >= 0:  # walk back to the matching '('
            depth += code[i] == ")"
            depth -= code[i] == "("
            if depth == 0:
                break
            i -= 1
        if i < 0:
            continue
        level = 0
        for ch in code[i + 1 : close.start()]:  # a '?' at the top level of the parentheses
            level += ch in "([{"
            level -= ch in ")]}"
            if ch == "?" and level == 0:
                yield i, "(c ? p : q)[i]: choose the array into a named pointer first"
                break


def literal_streams(code):
    for m in LITERAL_STREAM.finditer(code):
        yield m.start(), f"stream {m.group(1)} written as a number: use stream_id(stream::...)"


INCLUDE = re.compile(r'#\s*include\s*"([a-z_]+)/([^"]*)"')
ALLOWED = {"sim/core": ("sim/core/",), "neurons": ("neurons/", "sim/core/"),
           "learning": ("learning/", "sim/core/"), "encoders": ("encoders/", "sim/core/")}


def layering(code, folder):
    for m in INCLUDE.finditer(code):
        target = m.group(1) + "/" + m.group(2)
        if not target.startswith(ALLOWED[folder]):
            yield m.start(), f"{folder}/ includes {target}: allowed are {', '.join(ALLOWED[folder])}"


RULES = {
    # rule: (check, folders, path parts skipped)
    "conditional_subscript": (conditional_subscripts, ("sim", "neurons", "learning", "encoders", "experiments", "tests"),
                              ("compiler",)),  # tests/compiler holds the reproducer, which keeps the shape
    "literal_streams": (literal_streams, ("sim", "neurons", "learning", "encoders", "experiments"), ()),
    "layering": (None, ("sim/core", "neurons", "learning", "encoders"), ()),
}


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in RULES:
        print(__doc__)
        return 2
    check, folders, skipped = RULES[sys.argv[1]]
    root = pathlib.Path(sys.argv[2])
    bad = []
    for folder in folders:
        for path in sorted((root / folder).rglob("*")):
            if path.suffix not in (".cpp", ".hpp", ".h") or any(p in path.parts for p in skipped):
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            # Include paths are strings: the layering rule reads the text with only comments removed.
            code = STRING_OR_COMMENT.sub(blank, text) if check else re.sub(r"//[^\n]*", "", text)
            for at, what in (check(code) if check else layering(code, folder)):
                bad.append(f"{path.relative_to(root)}:{code.count(chr(10), 0, at) + 1}: {what}")
    print("\n".join(bad + [f"{sys.argv[1]}: {len(bad)} found"]))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
