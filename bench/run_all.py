#!/usr/bin/env python3
"""The whole benchmark of docs/benchmarks.md in one run (bench/run.sh calls it): inference I1, I3,
I4 and training W1, W2, W3, W5 at 1 and 2 threads, preflight beside its peers on the same
machine in the same run, pinned to the first 1 or 2 cores:

  inference  preflight (auto, onednn, xnnpack) on the models PyTorch exported to ONNX, so every
             runtime runs the very same weights; ONNX Runtime (pip); LiteRT (pip ai-edge-litert,
             XNNPACK delegate, on .tflite files bench/to_tflite.py writes from the same ONNX);
             PyTorch (each build found)
  training   preflight (auto, onednn) on the same architectures; PyTorch (each build found)
  memory     peak RSS added while training W3 against the analytic minimum (1 thread)

Prints medians, ratios against each peer, GFLOP/s and the fraction of the sgemm peak the
training bench measures with oneDNN, as one Markdown section; --write puts that section into
docs/benchmarks.md between its markers.

usage: python3 bench/run_all.py BUILD_DIR [--threads 1,2] [--quick] [--write]
"""
import datetime
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEGIN, END = "<!-- bench/run.sh: begin -->", "<!-- bench/run.sh: end -->"
INFERENCE = [("I1", "mlp"), ("I3", "cnn32"), ("I4", "mbv2")]
TRAINING = ["W1", "W2", "W3", "W5"]


def run(command, cpus):
    pinned = ["taskset", "-c", cpus] + command
    result = subprocess.run(pinned, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write("bench: %s failed (exit %d):\n%s%s" % (" ".join(command), result.returncode, result.stdout,
                                                                   result.stderr))
        sys.exit(1)
    return result.stdout


def torch_pythons():
    """Every Python here with a torch: Debian's python3-torch, pip's torch."""
    found = []
    for python in ["/usr/bin/python3", shutil.which("python3")]:
        if not python or any(os.path.realpath(python) == os.path.realpath(p) for p, _ in found):
            continue
        probe = subprocess.run([python, "-c", "import torch; print(torch.__version__)"], capture_output=True, text=True)
        if probe.returncode == 0:
            found.append((python, probe.stdout.strip()))
    return found


def main():
    args = sys.argv[1:]
    if not args or args[0].startswith("-"):
        print(__doc__)
        sys.exit(2)
    build, args = args[0], args[1:]
    threads, quick, write = [1, 2], False, False
    while args:
        if args[0] == "--threads" and len(args) > 1:
            threads, args = [int(t) for t in args[1].split(",")], args[2:]
        elif args[0] == "--quick":
            quick, args = True, args[1:]
        elif args[0] == "--write":
            write, args = True, args[1:]
        else:
            print(__doc__)
            sys.exit(2)
    runs, steps = (50, 10) if quick else (300, 50)
    infer_bin = os.path.join(build, "preflight_bench_infer")
    train_bin = os.path.join(build, "preflight_bench_train")
    pythons = torch_pythons()
    models = tempfile.mkdtemp(prefix="preflight-bench-")
    subprocess.run(["/usr/bin/python3", "bench/export_models.py", models], cwd=ROOT, check=True, capture_output=True)
    subprocess.run(["python3", "bench/to_tflite.py", models], cwd=ROOT, check=True, capture_output=True)

    lines = []
    out = lines.append
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.machine())
    out("Measured %s by `bash bench/run.sh%s` on %s (%d cores seen); medians; the peers of each row ran in "
        "the same run, pinned to the same cores. Ratios are preflight's time over the peer's (below 1: "
        "preflight is faster); for ONNX Runtime, \"net\" subtracts its Python call overhead (an Identity "
        "model of the same input timed the same way)." % (datetime.date.today().isoformat(), " --quick" if quick else "",
                                                          cpu, os.cpu_count()))
    out("")
    for t in threads:
        cpus = ",".join(str(c) for c in range(t))
        out("### %d thread%s (cores %s)" % (t, "" if t == 1 else "s", cpus))
        out("")
        # ---- inference ----
        torch_infer = {}
        for python, version in pythons:
            text = run([python, "bench/torch_bench.py", "--threads", str(t), "--runs", str(runs), "--only", "I1,I3,I4"], cpus)
            for m in re.finditer(r"(I\d) batch 1 threads \d+ median ([\d.]+) us", text):
                torch_infer[(version, m.group(1))] = float(m.group(2))
        out("| inference, batch 1 | preflight auto | onednn | xnnpack | ONNX Runtime (net) | auto / ORT (net) | "
            "LiteRT (net) | auto / LiteRT (net) | " + " | ".join("torch %s | auto / torch" % v for _, v in pythons) + " |")
        out("|---|---|---|---|---|---|---|---|" + "---|---|" * len(pythons))
        for workload, name in INFERENCE:
            path = os.path.join(models, name + ".onnx")
            text = run([infer_bin, path, "--runs", str(runs), "--threads", str(t), "--backends", "auto,onednn,xnnpack"], cpus)
            ours = {m.group(1): float(m.group(2)) for m in re.finditer(r"(\w+)\s+batch \d+\s+median\s+([\d.]+) us", text)}
            ort_text = run(["python3", "bench/ort_bench.py", "--runs", str(runs), "--threads", str(t), path], cpus)
            m = re.search(r"median ([\d.]+) us .* overhead ([\d.]+) us", ort_text)
            ort, overhead = float(m.group(1)), float(m.group(2))
            net = max(ort - overhead, 1e-9)
            lite_text = run(["python3", "bench/litert_bench.py", "--runs", str(runs), "--threads", str(t),
                             os.path.join(models, name + ".tflite")], cpus)
            m = re.search(r"median ([\d.]+) us .* overhead ([\d.]+) us", lite_text)
            lite, lite_net = float(m.group(1)), max(float(m.group(1)) - float(m.group(2)), 1e-9)
            row = "| %s %s | %.1f us | %.1f us | %.1f us | %.1f us (%.1f) | %.2f (%.2f) | %.1f us (%.1f) | %.2f (%.2f) |" % (
                workload, name, ours["auto"], ours["onednn"], ours["xnnpack"], ort, net, ours["auto"] / ort, ours["auto"] / net,
                lite, lite_net, ours["auto"] / lite, ours["auto"] / lite_net)
            for _, version in pythons:
                peer = torch_infer.get((version, workload))
                row += " %.1f us | %.3f |" % (peer, ours["auto"] / peer) if peer else " - | - |"
            out(row)
        out("")
        # ---- training ----
        text = run([train_bin, "--workloads", ",".join(TRAINING), "--backends", "auto,onednn", "--threads", str(t),
                    "--steps", str(steps)], cpus)
        peak = float(re.search(r"sgemm peak .*: ([\d.]+) GFLOP/s", text).group(1))
        ours = {}
        for m in re.finditer(r"(W\d) (\S+)\s+(\S+)\s+batch (\d+)\s+threads \d+\s+median\s+([\d.]+) ms\s+([\d.]+) steps/s\s+([\d.]+) GFLOP/s",
                             text):
            ours[(m.group(1), m.group(3))] = (m.group(2), int(m.group(4)), float(m.group(6)), float(m.group(7)))
        torch_train = {}
        for python, version in pythons:
            peer = run([python, "bench/torch_bench.py", "--threads", str(t), "--steps", str(steps), "--only", ",".join(TRAINING)],
                       cpus)
            for m in re.finditer(r"(W\d) batch \d+ threads \d+ median [\d.]+ ms ([\d.]+) steps/s", peer):
                torch_train[(version, m.group(1))] = float(m.group(2))
        out("| training step (Adam) | preflight auto | onednn | GFLOP/s (auto) | of sgemm peak %.0f GFLOP/s | " % peak
            + " | ".join("torch %s | auto / torch (speed-up)" % v for _, v in pythons) + " |")
        out("|---|---|---|---|---|" + "---|---|" * len(pythons))
        for workload in TRAINING:
            name, batch, auto_steps, gflops = ours[(workload, "auto")]
            row = "| %s %s batch %d | %.1f steps/s | %.1f steps/s | %.1f | %.0f%% |" % (
                workload, name, batch, auto_steps, ours[(workload, "onednn")][2], gflops, 100 * gflops / peak)
            for _, version in pythons:
                peer = torch_train.get((version, workload))
                row += " %.1f steps/s | %.1fx |" % (peer, auto_steps / peer) if peer else " - | - |"
            out(row)
        out("")
        if t == threads[0]:
            rss = run([train_bin, "--workloads", "W3", "--backends", "auto", "--threads", str(t), "--steps", "5", "--rss"], cpus)
            m = re.search(r"peak RSS added (\d+) KiB, analytic minimum (\d+) KiB .*ratio ([\d.]+)", rss)
            out("Peak RSS added while training W3 (auto): %s KiB against the analytic minimum of %s KiB (parameters and "
                "optimizer state + the planned arena of activations and gradients): ratio %s." % m.groups())
            out("")
    shutil.rmtree(models, ignore_errors=True)
    section = "\n".join(lines)
    print(section)
    if write:
        path = os.path.join(ROOT, "docs", "benchmarks.md")
        text = open(path).read()
        if BEGIN not in text or END not in text:
            sys.stderr.write("bench: %s has no %s ... %s markers\n" % (path, BEGIN, END))
            sys.exit(1)
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        temporary = path + ".tmp"
        with open(temporary, "w") as f:
            f.write(head + BEGIN + "\n" + section + "\n" + END + tail)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
        print("bench: wrote the section into docs/benchmarks.md")


if __name__ == "__main__":
    main()
