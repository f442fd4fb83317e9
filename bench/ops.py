#!/usr/bin/python3
"""ops.py: per-operation timings of sp's CPU backend next to PyTorch's.

Builds bench/ops.c against a built libsp.a, then, layer by layer,
alternates runs of it and of the same operations in PyTorch (same shapes,
batch 128, same thread count) and keeps each side's fastest time, so that
load from other processes hurts both sides alike.  Prints one line per operation and shape:
sp ms, torch ms and torch/sp (above 1: sp is faster).

Usage: OMP_NUM_THREADS=2 bench/ops.py [--build DIR] [--rounds N]
"""
import argparse, os, subprocess, sys, time
import torch
import torch.nn.functional as F

LAYERS = [(3, 32, 16, 1), (16, 32, 16, 1), (16, 32, 32, 2), (32, 16, 32, 1), (32, 16, 64, 2),
          (64, 8, 64, 1), (3, 32, 64, 1), (64, 32, 64, 1), (64, 16, 128, 1), (128, 16, 128, 1),
          (128, 8, 256, 1), (256, 8, 256, 1), (256, 4, 512, 1), (512, 4, 512, 1), (512, 2, 512, 1)]
N = 128


def fastest(fn, reps):
    fn()
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return 1e3 * best


def torch_round(reps, only):
    out = {}
    aten = torch.ops.aten
    with torch.no_grad():
        for c, h, k, s in [LAYERS[only]]:
            x = torch.randn(N, c, h, h)
            w = torch.randn(k, c, 3, 3)
            y = F.conv2d(x, w, None, s, 1)
            oh = y.shape[2]
            g = torch.randn_like(y)
            tag = f"n{N} c{c} h{h} k{k} s{s}"
            out[f"conv_fwd {tag}"] = fastest(lambda: F.conv2d(x, w, None, s, 1), reps)
            if c > 3:
                out[f"conv_bwd_data {tag}"] = fastest(lambda: aten.convolution_backward(
                    g, x, w, None, [s, s], [1, 1], [1, 1], False, [0, 0], 1,
                    [True, False, False]), reps)
            out[f"conv_bwd_filter {tag}"] = fastest(lambda: aten.convolution_backward(
                g, x, w, None, [s, s], [1, 1], [1, 1], False, [0, 0], 1,
                [False, True, False]), reps)
            gamma, beta = torch.rand(k) + 0.5, torch.randn(k)
            rm, rv = torch.zeros(k), torch.ones(k)
            btag = f"n{N} c{k} hw{oh * oh}"
            out[f"bn_fwd_train {btag}"] = fastest(
                lambda: aten.native_batch_norm(y, gamma, beta, rm, rv, True, 0.1, 1e-5), reps)
            _, sm, si = aten.native_batch_norm(y, gamma, beta, rm, rv, True, 0.1, 1e-5)
            out[f"bn_bwd {btag}"] = fastest(lambda: aten.native_batch_norm_backward(
                g, y, gamma, rm, rv, sm, si, True, 1e-5, [True, True, True]), reps)
            out[f"relu_fwd_bwd {btag}"] = fastest(
                lambda: aten.threshold_backward(g, torch.relu(y), 0), reps)
    return out


def sp_round(exe, reps, only):
    res = subprocess.run([exe, str(reps), str(only)], check=True, capture_output=True, text=True)
    out = {}
    for line in res.stdout.splitlines():
        key, ms = line.rsplit(" ", 1)
        out[key] = float(ms)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    threads = int(os.environ.get("OMP_NUM_THREADS", "2"))
    torch.set_num_threads(threads)
    exe = os.path.join(a.build, "bench-ops")
    subprocess.run(["cc", "-O2", "-fopenmp", "-std=c11", "-D_GNU_SOURCE", "-Iinclude",
                    "bench/ops.c", os.path.join(a.build, "libsp.a"), "-ldnnl", "-lcjson",
                    "-larchive", "-lturbojpeg", "-lz", "-lm", "-o", exe], check=True)
    sp, th = {}, {}
    for layer in range(len(LAYERS)):
        for _ in range(a.rounds):
            for d, new in ((sp, sp_round(exe, a.reps, layer)), (th, torch_round(a.reps, layer))):
                for key, ms in new.items():
                    d[key] = min(d.get(key, float("inf")), ms)
    print(f"# {threads} threads, batch {N}; fastest of {a.rounds} alternations x {a.reps} calls")
    print(f"{'operation and shape':48s} {'sp ms':>9s} {'torch ms':>9s} {'torch/sp':>8s}")
    tot_sp = tot_th = 0.0
    for key in sp:
        if key in th:
            tot_sp += sp[key]
            tot_th += th[key]
            print(f"{key:48s} {sp[key]:9.2f} {th[key]:9.2f} {th[key] / sp[key]:8.2f}")
    print(f"{'total':48s} {tot_sp:9.2f} {tot_th:9.2f} {tot_th / tot_sp:8.2f}")


if __name__ == "__main__":
    sys.exit(main())
