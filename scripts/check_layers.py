#!/usr/bin/env python3
"""The include graph runs one way: core <- ops <- runtime <- graph <- models, trainer <- tools.

Every `#include "folder/..."` of a source file must name a folder of its own layer or of one
below it (docs/design.md, "Layers"). Prints each include that runs upward with its file and line,
and exits 1 when there is one, 0 when there is none.

    python3 scripts/check_layers.py [ROOT]     check the tree at ROOT (default: this checkout)
    python3 scripts/check_layers.py --self-test
                                               plant an upward include in a scratch tree and
                                               check that it is caught (CTest runs both)
"""
import os
import re
import sys
import tempfile

# Folder -> layer. A folder may include its own layer and the ones below. schemas/ is generated
# code every layer reads; the library's public C header (runtime/include) is the runtime's.
LAYERS = {
    "core": 0,
    "schemas": 0,
    "ops": 1,
    "runtime": 2,
    "graph": 3,
    "models": 4,
    "trainer": 4,
    "tools": 5,
    "bench": 5,
    "targets": 5,
    "tests": 6,
}
SOURCE = re.compile(r"\.(h|cc|c|cu|cl|inc)$")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def layer_of(relative):
    top = relative.split("/", 1)[0]
    return LAYERS.get(top)


def check(root):
    problems = []
    for folder in LAYERS:
        base = os.path.join(root, folder)
        for directory, _, files in os.walk(base):
            for name in sorted(files):
                if not SOURCE.search(name):
                    continue
                path = os.path.join(directory, name)
                relative = os.path.relpath(path, root)
                own = layer_of(relative)
                with open(path, encoding="utf-8", errors="replace") as source:
                    for number, line in enumerate(source, 1):
                        match = INCLUDE.match(line)
                        if not match or "/" not in match.group(1):
                            continue  # a file beside it, or a generated one ("op_list.h")
                        target = layer_of(match.group(1))
                        if target is not None and target > own:
                            problems.append(
                                f"{relative}:{number}: includes {match.group(1)}, a layer above "
                                f"{relative.split('/', 1)[0]}/ (core <- ops <- runtime <- graph <- "
                                f"models, trainer <- tools)")
    return problems


def self_test():
    with tempfile.TemporaryDirectory() as root:
        for folder, text in [("core", '#include "core/a.h"\n'), ("ops", '#include "core/status.h"\n'),
                             ("runtime", '#include "graph/graph.h"\n')]:
            os.makedirs(os.path.join(root, folder))
            with open(os.path.join(root, folder, "x.cc"), "w") as f:
                f.write(text)
        problems = check(root)
        if len(problems) != 1 or not problems[0].startswith("runtime/x.cc:1: includes graph/graph.h"):
            print("check_layers self-test: the planted include runtime -> graph was not caught as the one "
                  f"problem: {problems}")
            return 1
    print("check_layers self-test: a planted include from runtime/ up to graph/ is caught")
    return 0


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    root = argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    problems = check(root)
    for problem in problems:
        print(problem)
    if problems:
        print(f"check_layers: {len(problems)} include(s) run upward")
        return 1
    print("check_layers: every include runs down the layers")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
