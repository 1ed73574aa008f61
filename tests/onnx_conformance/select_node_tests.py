#!/usr/bin/env python3
"""Copies the ONNX backend tests of the ops preflight imports into tests/fixtures/onnx_node/.

The cases ship in the `onnx` pip package (onnx/backend/test/data/<folder>/<case>: model.onnx and
test_data_set_0/input_*.pb, output_*.pb), in four folders: `node` (one op per case), and the
model folders `pytorch-converted`, `pytorch-operator` and `simple`; `real` holds only links to
models downloaded at test time (not done here: nothing is downloaded). A case is copied to
tests/fixtures/onnx_node/<folder>/<case> when every node of its model is an op of the importer's
table (kConverters in graph/import/onnx_ops.cc), whatever its attributes, types or opset: the
conformance test then reports each as pass, fail or unsupported (refused by the importer, with the
reason); a case with over 1 MB of test data is not copied (two: a conv and a dilated pooling case
of the pytorch folders, 4 MB each). Every case of the release, copied or not, is a line of tests/fixtures/onnx_node/MANIFEST
(folder, case, its op types, and `copied` or the ops without a converter), so the test reports
over the whole set. CI runs the committed copy; this script only refreshes it:

    python3 -m pip download onnx==1.22.0 --no-deps -d /tmp/onnx-wheel
    /usr/bin/python3 tests/onnx_conformance/select_node_tests.py /tmp/onnx-wheel/onnx-1.22.0-*.whl

onnx 1.22.0 is the newest release whose wheel ships the test data (1.23's wheels have no node
folder); its cases are at opset 25 at most.
"""
import os
import re
import shutil
import sys
import zipfile

import onnx  # Debian's python3-onnx reads the models

HERE = os.path.dirname(os.path.abspath(__file__))
FOLDERS = ("node", "pytorch-converted", "pytorch-operator", "simple", "real")
MAX_CASE_BYTES = 1 << 20  # a case with more test data is listed, not copied (the repo stays small)


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


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    supported = supported_ops()
    version = re.search(r"onnx-(\d+\.\d+\.\d+)", os.path.basename(sys.argv[1]))
    if not version:
        sys.exit("select_node_tests: %s is not an onnx wheel (onnx-X.Y.Z-...whl)" % sys.argv[1])
    out = os.path.join(HERE, "..", "fixtures", "onnx_node")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    wheel = zipfile.ZipFile(sys.argv[1])
    cases = {}
    for name in wheel.namelist():
        parts = name.split("/")
        if name.startswith("onnx/backend/test/data/") and len(parts) >= 7 and parts[4] in FOLDERS:
            cases.setdefault((parts[4], parts[5]), []).append(name)
    if not any(folder == "node" for folder, _ in cases):
        sys.exit("select_node_tests: %s has no onnx/backend/test/data/node (onnx 1.23's wheels ship none)" % sys.argv[1])
    manifest = ["# onnx %s backend test cases: folder, case, op types, copied or the ops without a converter"
                % version.group(1)]
    copied = 0
    for (folder, case), files in sorted(cases.items()):
        prefix = "onnx/backend/test/data/%s/%s/" % (folder, case)
        if prefix + "model.onnx" not in files:
            manifest.append("%s %s - not run: the model is downloaded at test time" % (folder, case))
            continue
        model = onnx.load_model_from_string(wheel.read(prefix + "model.onnx"))
        ops = sorted({(node.domain + "." if node.domain not in ("", "ai.onnx") else "") + node.op_type
                      for node in model.graph.node})
        missing = [op for op in ops if op not in supported]
        if not ops or missing:
            manifest.append("%s %s %s no converter: %s" % (folder, case, ",".join(ops) or "-",
                                                            ",".join(missing) or "(empty graph)"))
            continue
        size = sum(wheel.getinfo(name).file_size for name in files
                   if not name[len(prefix):].startswith("test_data_set_") or "/test_data_set_0/" in name)
        if size > MAX_CASE_BYTES:
            manifest.append("%s %s %s not run: %.1f MB of test data, over the %d MB a committed case may take"
                            % (folder, case, ",".join(ops), size / 1e6, MAX_CASE_BYTES >> 20))
            continue
        for name in files:
            if name.endswith("/"):
                continue
            relative = name[len(prefix):]
            if relative.startswith("test_data_set_") and not relative.startswith("test_data_set_0/"):
                continue  # one data set per case is enough
            target = os.path.join(out, folder, case, relative)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as f:
                f.write(wheel.read(name))
        manifest.append("%s %s %s copied" % (folder, case, ",".join(ops)))
        copied += 1
    with open(os.path.join(out, "MANIFEST"), "w") as f:
        f.write("\n".join(manifest) + "\n")
    print("copied %d cases of %d into %s" % (copied, len(cases), os.path.normpath(out)))


if __name__ == "__main__":
    main()
