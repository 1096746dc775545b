"""F.interpolate forward and backward, Ember against PyTorch:
python3 bench/python_resize_bench.py {torch|ember} THREADS  (run from the repository root; medians of 7 calls, ms).
Shapes: a torchvision-style resize [8, 3, 512, 512] -> 224 (with and without antialias) and a
UNet/FPN-style 2x upsample of [8, 64, 64, 64]."""
import sys, time
which, th = sys.argv[1], int(sys.argv[2])
if which == "torch":
    import torch
else:
    sys.path.insert(0, "python"); import ember as torch
torch.set_num_threads(th)
torch.manual_seed(0)
F = torch.nn.functional
big = torch.randn(8, 3, 512, 512, requires_grad=True)
feat = torch.randn(8, 64, 64, 64, requires_grad=True)
cases = [
    ("down bilinear aa", big, dict(size=(224, 224), mode="bilinear", antialias=True)),
    ("down bicubic aa", big, dict(size=(224, 224), mode="bicubic", antialias=True)),
    ("down bilinear", big, dict(size=(224, 224), mode="bilinear")),
    ("down bicubic", big, dict(size=(224, 224), mode="bicubic")),
    ("up2 nearest", feat, dict(scale_factor=2, mode="nearest")),
    ("up2 bilinear", feat, dict(scale_factor=2, mode="bilinear", align_corners=False)),
    ("up2 bicubic", feat, dict(scale_factor=2, mode="bicubic", align_corners=False)),
]
only = sys.argv[3] if len(sys.argv) > 3 else None
for name, x, kw in cases:
    if only and only not in name:
        continue
    fs, bs = [], []
    for _ in range(7):
        t = time.perf_counter(); y = F.interpolate(x, **kw); t1 = time.perf_counter()
        y.backward(torch.ones_like(y)); t2 = time.perf_counter()
        fs.append(t1 - t); bs.append(t2 - t1)
        x.grad = None
    print(f"{which} {th} {name:18s} fwd {sorted(fs)[3]*1e3:7.2f} ms  bwd {sorted(bs)[3]*1e3:7.2f} ms", flush=True)
