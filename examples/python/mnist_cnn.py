"""MNIST CNN, written as pytorch/examples/mnist/main.py writes it (same network, Adadelta,
StepLR, dropout, log-softmax + NLL); only the import names Ember, and torchvision's download
is replaced by the MNIST files bundled in data/mnist.

    python examples/python/mnist_cnn.py --epochs 1
    python examples/python/mnist_cnn.py --epochs 1 --torch     # the same script on PyTorch
"""

import argparse
import gzip
import pathlib
import sys
import time

import numpy as np

if "--torch" in sys.argv:
    import torch
else:
    import ember.compat
    ember.compat.install()  # `import torch` below now gives Ember, as `python -m ember.compat` does
    import torch
import torch.nn as nn  # noqa: E402  (resolved below when running on Ember)
import torch.nn.functional as F  # noqa: E402
import torch.optim as optim  # noqa: E402
from torch.optim.lr_scheduler import StepLR  # noqa: E402
from torch.utils.data import DataLoader, Dataset  # noqa: E402

DATA = pathlib.Path(__file__).resolve().parents[2] / "data" / "mnist"


class MNIST(Dataset):
    """The idx files of data/mnist, normalised as transforms.Normalize((0.1307,), (0.3081,))."""

    def __init__(self, root, train, limit=None):
        prefix = "train" if train else "t10k"
        with gzip.open(root / f"{prefix}-images-idx3-ubyte.gz") as f:
            images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
        with gzip.open(root / f"{prefix}-labels-idx1-ubyte.gz") as f:
            labels = np.frombuffer(f.read(), np.uint8, offset=8)
        if limit:
            images, labels = images[:limit], labels[:limit]
        self.images = torch.from_numpy(((images / 255.0 - 0.1307) / 0.3081).astype(np.float32))
        self.labels = torch.from_numpy(labels.astype(np.int64))

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.images[i], self.labels[i]

    def __getitems__(self, indices):
        idx = torch.tensor(indices)
        return list(zip(self.images.index_select(0, idx), self.labels.index_select(0, idx)))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        return F.log_softmax(x, dim=1)


def train(args, model, device, train_loader, optimizer, epoch):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        if batch_idx % args.log_interval == 0:
            print(f"Train Epoch: {epoch} [{batch_idx * len(data)}/{len(train_loader.dataset)} "
                  f"({100. * batch_idx / len(train_loader):.0f}%)]\tLoss: {loss.item():.6f}", flush=True)


def test(model, device, test_loader):
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction="sum").item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    test_loss /= len(test_loader.dataset)
    accuracy = correct / len(test_loader.dataset)
    print(f"\nTest set: Average loss: {test_loss:.4f}, Accuracy: {correct}/{len(test_loader.dataset)} "
          f"({100. * accuracy:.0f}%)\n")
    return accuracy


def main():
    parser = argparse.ArgumentParser(description="PyTorch MNIST Example")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--test-batch-size", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=14)
    parser.add_argument("--lr", type=float, default=1.0)
    parser.add_argument("--gamma", type=float, default=0.7)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--log-interval", type=int, default=100)
    parser.add_argument("--train-limit", type=int, default=None, help="use the first N training images")
    parser.add_argument("--num-workers", type=int, default=0)
    parser.add_argument("--save-model", action="store_true")
    parser.add_argument("--torch", action="store_true", help="run on PyTorch instead of Ember")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    device = torch.device("cpu")
    train_loader = DataLoader(MNIST(DATA, True, args.train_limit), batch_size=args.batch_size, shuffle=True,
                              num_workers=args.num_workers)
    test_loader = DataLoader(MNIST(DATA, False), batch_size=args.test_batch_size)
    model = Net().to(device)
    optimizer = optim.Adadelta(model.parameters(), lr=args.lr)
    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        train(args, model, device, train_loader, optimizer, epoch)
        accuracy = test(model, device, test_loader)
        scheduler.step()
    print(f"time: {time.perf_counter() - start:.1f} s, test accuracy {accuracy:.4f}")
    if args.save_model:
        torch.save(model.state_dict(), "mnist_cnn.pt")
    return accuracy


if __name__ == "__main__":
    main()
