#!/usr/bin/env python3
"""Copies the ONNX backend node tests of the ops preflight imports into tests/fixtures/onnx_node/.

The cases ship in the `onnx` pip package (onnx/backend/test/data/node: model.onnx and
test_data_set_0/input_*.pb, output_*.pb). A case is copied when every node of its model is an op
of the importer's table (kConverters in graph/import/onnx_ops.cc), whatever its attributes, types or opset: the conformance
test then reports each as pass, fail or unsupported (refused by the importer, with the reason).
CI runs the committed copy; this script only refreshes it:

    python3 -m pip download onnx==1.16.2 --no-deps -d /tmp/onnx-wheel
    /usr/bin/python3 tests/onnx_conformance/select_node_tests.py /tmp/onnx-wheel/onnx-1.16.2-*.whl

onnx 1.16.2's cases are at opset 21 at most, the newest preflight imports.
"""
import io
import os
import re
import shutil
import sys
import zipfile

import onnx  # Debian's python3-onnx reads the models

HERE = os.path.dirname(os.path.abspath(__file__))


def supported_ops():
    """The ONNX op types of the importer's table (kConverters in graph/import/onnx_ops.cc)."""
    with open(os.path.join(HERE, "..", "..", "graph", "import", "onnx_ops.cc"), encoding="utf-8") as f:
        text = f.read()
    table = text[text.index("kConverters[] = {"):]
    table = table[:table.index("};")]
    ops = set(re.findall(r'\{"(\w+)", ', table))
    if not ops:
        sys.exit("select_node_tests: no rows found in kConverters of graph/import/onnx_ops.cc")
    return ops


PREFIX = "onnx/backend/test/data/node/"


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    supported = supported_ops()
    out = os.path.join(HERE, "..", "fixtures", "onnx_node")
    shutil.rmtree(out, ignore_errors=True)
    wheel = zipfile.ZipFile(sys.argv[1])
    cases = {}
    for name in wheel.namelist():
        if name.startswith(PREFIX) and name.count("/") >= 6:
            cases.setdefault(name[len(PREFIX):].split("/")[0], []).append(name)
    kept = []
    for case, files in sorted(cases.items()):
        model_file = PREFIX + case + "/model.onnx"
        if model_file not in files:
            continue
        model = onnx.load_model_from_string(wheel.read(model_file))
        if not model.graph.node or any(node.op_type not in supported or node.domain not in ("", "ai.onnx")
                                       for node in model.graph.node):
            continue
        for name in files:
            if name.endswith("/"):
                continue
            relative = name[len(PREFIX):]
            if "/test_data_set_" in relative and "/test_data_set_0/" not in relative:
                continue  # one data set per case is enough
            target = os.path.join(out, relative)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as f:
                f.write(wheel.read(name))
        kept.append(case)
    print("copied %d cases of %d into %s" % (len(kept), len(cases), os.path.normpath(out)))


if __name__ == "__main__":
    main()
