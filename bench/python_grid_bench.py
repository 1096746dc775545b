"""grid_sample forward and backward, Ember against PyTorch: python3 bench/python_grid_bench.py {torch|ember} THREADS
(run from the repository root; medians of 7 calls, ms)."""
import sys, time
which, th = sys.argv[1], int(sys.argv[2])
if which == "torch":
    import torch
else:
    sys.path.insert(0, "python"); import ember as torch
torch.set_num_threads(th)
torch.manual_seed(0)
x = torch.randn(8, 3, 256, 256, requires_grad=True)
g = (torch.rand(8, 224, 224, 2) * 2 - 1).requires_grad_()
gy = torch.randn(8, 3, 224, 224)
F = torch.nn.functional
for mode in ("bilinear", "nearest", "bicubic"):
    fs, bs = [], []
    for _ in range(7):
        t = time.perf_counter(); y = F.grid_sample(x, g, mode=mode, align_corners=False); t1 = time.perf_counter()
        y.backward(gy); t2 = time.perf_counter()
        fs.append(t1 - t); bs.append(t2 - t1)
        x.grad = None; g.grad = None
    print(which, th, mode, f"fwd {sorted(fs)[3]*1e3:.1f} ms  bwd {sorted(bs)[3]*1e3:.1f} ms")
