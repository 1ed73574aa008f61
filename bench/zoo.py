#!/usr/bin/env python3
"""The vision zoo: real torchvision architectures (random weights, eval mode, batch 1) exported to
ONNX, converted by preflight, compared with ONNX Runtime and timed side by side, one thread.

For each model: does `preflight convert` take it (else the first line of its refusal), the max
absolute difference from ONNX Runtime over the largest |output| of ORT, and the median latency of
preflight (`preflight_bench_infer`, each backend asked for) and of ORT on the same file, with the
ratio. Prints a Markdown table; --write puts it into docs/onnx.md between the zoo markers.

    python3 bench/zoo.py [--build DIR] [--size 224] [--runs 20] [--backends onednn,auto]
                         [--models resnet18,...] [--opset 13] [--write]

The exporter is the torch that runs this script: Debian's python3-torch 1.13 with
python3-torchvision 0.14 (`torch.onnx.export`, TorchScript-based), the interpreter given as
PYTHON (default /usr/bin/python3) for the export step; ONNX Runtime comes from pip (a venv's
python3 runs this script: `python3 -m pip install onnxruntime numpy`). Nothing is downloaded
beyond the packages: the weights are random.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MODELS = ["resnet18", "resnet50", "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large", "squeezenet1_1",
          "shufflenet_v2_x1_0", "efficientnet_b0", "mnasnet0_5", "regnet_y_400mf", "densenet121", "googlenet",
          "convnext_tiny"]

EXPORT = r"""
import sys, torch, torchvision
name, size, opset, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
torch.manual_seed(0)
kwargs = {"aux_logits": False, "init_weights": True} if name == "googlenet" else {}
model = getattr(torchvision.models, name)(weights=None, **kwargs).eval()
x = torch.randn(1, 3, size, size)
torch.onnx.export(model, (x,), path, input_names=["x"], output_names=["logits"], opset_version=opset)
print(torch.__version__, torchvision.__version__)
"""


def export(python, name, size, opset, path):
    done = subprocess.run([python, "-c", EXPORT, name, str(size), str(opset), path], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError("export failed: " + (done.stderr.strip().splitlines() or ["?"])[-1])
    return done.stdout.strip()


def ort_session(path):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def ort_median(session, x, runs):
    feed = {session.get_inputs()[0].name: x}
    for _ in range(3):
        session.run(None, feed)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, feed)
        times.append((time.perf_counter() - start) * 1e6)
    return float(np.median(times))


def preflight(build, args):
    return subprocess.run([os.path.join(build, "preflight")] + args, capture_output=True, text=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--opset", type=int, default=13)
    parser.add_argument("--backends", default="onednn,auto")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--python", default=os.environ.get("PYTHON", "/usr/bin/python3"))
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    backends = args.backends.split(",")
    rows, versions = [], ""
    with tempfile.TemporaryDirectory() as work:
        for name in args.models.split(","):
            path = os.path.join(work, name + ".onnx")
            row = {"model": name}
            rows.append(row)
            try:
                versions = export(args.python, name, args.size, args.opset, path)
            except RuntimeError as e:
                row["converts"] = str(e)
                print(name, row["converts"], file=sys.stderr)
                continue
            pfb = os.path.join(work, name + ".pfb")
            done = preflight(args.build, ["convert", path, "-o", pfb])
            if done.returncode != 0:
                lines = [l for l in done.stderr.splitlines() if l.strip()]
                row["converts"] = "no: " + " ".join(l.replace("preflight: ", "").strip() for l in lines[1:4] or lines[:1])
                print(name, row["converts"], file=sys.stderr)
                continue
            row["converts"] = "yes"
            x = np.random.default_rng(0).standard_normal((1, 3, args.size, args.size)).astype(np.float32)
            np.save(os.path.join(work, "x.npy"), x)
            session = ort_session(path)
            expected = session.run(None, {session.get_inputs()[0].name: x})[0]
            out = os.path.join(work, "y.npy")
            done = preflight(args.build, ["run", pfb, "--input", os.path.join(work, "x.npy"), "--backend", backends[0], "-o", out])
            if done.returncode != 0:
                row["error"] = done.stderr.strip()[-200:]
                continue
            got = np.load(out).reshape(expected.shape)
            row["max_error"] = float(np.max(np.abs(got - expected)) / max(1e-30, float(np.max(np.abs(expected)))))
            row["ort_us"] = ort_median(session, x, args.runs)
            bench = subprocess.run(["taskset", "-c", "0", os.path.join(args.build, "preflight_bench_infer"), pfb,
                                    "--runs", str(args.runs), "--warmup", "3", "--backends", args.backends],
                                   capture_output=True, text=True)
            for line in bench.stdout.splitlines():
                m = re.search(r"^\S+\s+(\S+)\s+batch\s+\d+\s+median\s+([\d.]+)", line)
                if m:
                    row[m.group(1) + "_us"] = float(m.group(2))
            print(json.dumps(row), file=sys.stderr)
    header = "| model | converts | max error / max output | ORT (us) | " + " | ".join(
        "%s (us) | %s / ORT" % (b, b) for b in backends) + " |"
    lines = [header, "|" + "---|" * (4 + 2 * len(backends))]
    ratios = {b: [] for b in backends}
    for row in rows:
        cells = [row["model"], row["converts"] if row["converts"] == "yes" else row["converts"][:150].replace("|", "/")]
        if "max_error" in row:
            cells += ["%.1e" % row["max_error"], "%.0f" % row["ort_us"]]
            for b in backends:
                us = row.get(b + "_us")
                cells += ["%.0f" % us if us else "-", "%.2f" % (us / row["ort_us"]) if us else "-"]
                if us:
                    ratios[b].append(us / row["ort_us"])
        else:
            cells += [row.get("error", "-")[:80]] + ["-"] * (1 + 2 * len(backends))
        lines.append("| " + " | ".join(cells) + " |")
    summary = "%d of %d convert; geometric mean of the latency ratios: %s" % (
        sum(r["converts"] == "yes" for r in rows), len(rows),
        ", ".join("%s %.2f" % (b, float(np.exp(np.mean(np.log(v))))) for b, v in ratios.items() if v))
    table = "\n".join(lines)
    command = "python3 bench/zoo.py --size %d --runs %d --opset %d --backends %s" % (args.size, args.runs, args.opset, args.backends)
    text = ("Exported by torch %s (torchvision %s) at opset %d, %dx%d, batch 1, 1 thread, medians of %d runs, "
            "ONNX Runtime %s; `%s`, %s.\n\n%s\n\n%s\n" % (versions.split()[0] if versions else "?", versions.split()[-1] if versions else "?",
                                                     args.opset, args.size, args.size, args.runs, ort.__version__, command,
                                                     time.strftime("%Y-%m-%d"), table, summary))
    print(text)
    if args.write:
        docs = os.path.join(ROOT, "docs", "onnx.md")
        with open(docs) as f:
            page = f.read()
        begin, end = "<!-- zoo:begin -->", "<!-- zoo:end -->"
        if begin not in page:
            page += "\n## The vision zoo (`bench/zoo.py`)\n\n" + begin + "\n" + end + "\n"
        start, stop = page.index(begin) + len(begin), page.index(end)
        with open(docs, "w") as f:
            f.write(page[:start] + "\n" + text + page[stop:])
        print("wrote", docs)


if __name__ == "__main__":
    main()
