#!/usr/bin/env python3
"""The Fashion-MNIST reference network of docs/training.md written in plain PyTorch (the route
SNN researchers use today), timed for one training step and one inference batch.

conv(1->16, 3x3, pad 1)-BN-LIF-avgpool2-conv(16->32, 3x3, pad 1)-BN-LIF-avgpool2-flatten-
linear(1568->10), LIF beta 0.5, threshold 1, arctan surrogate (alpha 2), reset by subtraction
(detached), direct input repeated over T, output averaged over T, cross-entropy, Adam.

Usage: torch_reference.py --threads N [--timesteps 4] [--batch 64] [--steps 5]
Prints one JSON object.
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class ArctanSpike(torch.autograd.Function):
    """Heaviside forward; alpha / (2 (1 + (pi/2 alpha x)^2)) backward (arctan surrogate)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x >= 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        alpha = 2.0
        return grad * alpha / 2 / (1 + (math.pi / 2 * alpha * x) ** 2)


def lif_over_time(x, beta=0.5, threshold=1.0):
    """x: [T, ...]; H = beta V + x; S = H >= threshold; V = H - S threshold (S detached in the reset)."""
    v = torch.zeros_like(x[0])
    out = []
    for t in range(x.shape[0]):
        h = beta * v + x[t]
        s = ArctanSpike.apply(h - threshold)
        v = h - s.detach() * threshold
        out.append(s)
    return torch.stack(out)


class Net(nn.Module):
    def __init__(self, timesteps):
        super().__init__()
        self.T = timesteps
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(32)
        self.fc = nn.Linear(1568, 10)

    def forward(self, x):
        T, B = self.T, x.shape[0]
        y = self.bn1(self.conv1(x))                       # the same for every step (direct input)
        y = y.unsqueeze(0).expand(T, *y.shape)
        s = lif_over_time(y)                              # [T, B, 16, 28, 28]
        s = F.avg_pool2d(s.flatten(0, 1), 2)
        y = self.bn2(self.conv2(s)).view(T, B, 32, 14, 14)
        s = lif_over_time(y)
        s = F.avg_pool2d(s.flatten(0, 1), 2)
        out = self.fc(s.flatten(1)).view(T, B, 10)
        return out.mean(0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--timesteps", type=int, default=4)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=5)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    net = Net(a.timesteps)
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    x = torch.rand(a.batch, 1, 28, 28)
    y = torch.arange(a.batch) % 10

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()

    step()  # warm-up
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    train_s = (time.perf_counter() - t0) / a.steps
    net.eval()
    with torch.no_grad():
        net(x)
        t0 = time.perf_counter()
        for _ in range(a.steps):
            net(x)
        infer_s = (time.perf_counter() - t0) / a.steps
    print(json.dumps({"framework": "pytorch " + torch.__version__, "threads": a.threads, "T": a.timesteps,
                      "batch": a.batch, "train_step_s": train_s, "inference_batch_s": infer_s}))


if __name__ == "__main__":
    main()
