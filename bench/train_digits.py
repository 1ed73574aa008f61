#!/usr/bin/env python3
"""Benchmark: `preflight train` vs PyTorch on the bundled digits, side by side in one run.

Both train cnn8 (models/models.h) for 30 epochs at batch 32 with Adam at 3e-4 on the same
seeded 80/20 split (written here as .npz files), from their own seeded initialisation (both
Kaiming-uniform as PyTorch does), on one thread. Reported: final validation accuracy and wall time,
median of --runs runs, and the time ratio.

Usage (from the repository root, after a Release build):
  /usr/bin/python3 bench/train_digits.py [--runs 3] [--epochs 30] [--preflight build/preflight]
Needs Debian's python3-torch (or pip torch) and NumPy.
"""
import argparse
import gzip
import os
import re
import statistics
import subprocess
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_digits():
    with gzip.open(os.path.join(ROOT, "data", "digits.csv.gz"), "rt") as f:
        rows = np.loadtxt(f, delimiter=",")
    return (rows[:, :64] / 16.0).astype(np.float32), rows[:, 64].astype(np.int64)


class Cnn8(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc = nn.Linear(512, 10)

    def forward(self, x):  # [B, 64]
        x = x.view(-1, 1, 8, 8)
        x = torch.relu(self.conv2(torch.relu(self.conv1(x))))
        return self.fc(nn.functional.max_pool2d(x, 2).flatten(1))


def torch_run(x_train, y_train, x_val, y_val, epochs, seed):
    torch.manual_seed(seed)
    model = Cnn8()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-4)
    xt, yt = torch.from_numpy(x_train), torch.from_numpy(y_train)
    start = time.perf_counter()
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(len(xt), generator=generator)
        for first in range(0, len(xt), 32):
            index = order[first:first + 32]
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(xt[index]), yt[index])
            loss.backward()
            optimizer.step()
    seconds = time.perf_counter() - start
    with torch.no_grad():
        accuracy = (model(torch.from_numpy(x_val)).argmax(1).numpy() == y_val).mean()
    return seconds, float(accuracy)


def preflight_run(binary, folder, epochs, seed):
    model = os.path.join(folder, "cnn8.pfb")
    subprocess.run([binary, "build-model", "cnn8", "--seed", str(seed), "-o", model], check=True, capture_output=True)
    start = time.perf_counter()
    out = subprocess.run([binary, "train", model, "--data", os.path.join(folder, "train.npz"), "--val-data",
                          os.path.join(folder, "val.npz"), "--epochs", str(epochs), "--batch", "32", "--lr", "3e-4",
                          "--optimizer", "adam", "--seed", str(seed)], check=True, capture_output=True, text=True).stdout
    seconds = time.perf_counter() - start
    accuracy = float(re.findall(r"validation loss [0-9.]+ acc ([0-9.]+)%", out)[-1]) / 100
    return seconds, accuracy


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--preflight", default=os.path.join(ROOT, "build", "preflight"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    x, y = load_digits()
    order = np.random.default_rng(0).permutation(len(x))
    cut = int(round(0.8 * len(x)))
    train, val = order[:cut], order[cut:]
    results = {"preflight": [], "pytorch": []}
    with tempfile.TemporaryDirectory() as folder:
        np.savez(os.path.join(folder, "train.npz"), x=x[train], y=y[train])
        np.savez(os.path.join(folder, "val.npz"), x=x[val], y=y[val])
        for run in range(args.runs):
            results["preflight"].append(preflight_run(args.preflight, folder, args.epochs, run))
            results["pytorch"].append(torch_run(x[train], y[train], x[val], y[val], args.epochs, run))
    print(f"cnn8 on digits, {args.epochs} epochs, batch 32, Adam 3e-4, {len(train)} train / {len(val)} validation rows, "
          f"1 thread, {args.runs} runs (median)")
    medians = {}
    for name, runs in results.items():
        seconds = statistics.median(r[0] for r in runs)
        accuracy = statistics.median(r[1] for r in runs)
        medians[name] = seconds
        print(f"  {name:9s}: {seconds:6.2f} s, validation accuracy {100 * accuracy:.1f}% "
              f"(runs: {', '.join(f'{100 * r[1]:.1f}%' for r in runs)})")
    print(f"  time ratio preflight / pytorch: {medians['preflight'] / medians['pytorch']:.2f}")


if __name__ == "__main__":
    main()
