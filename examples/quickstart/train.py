"""Data-parallel training of a small model on synthetic data, with PyTorch DDP over gloo.

It reads only what the Training Operator injects (MASTER_ADDR, MASTER_PORT, RANK,
WORLD_SIZE), so the same file runs under `jupyter-kf`'s local backend and in a PyTorchJob.
"""

import argparse

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler

import jupyter_kf


def make_data(n: int = 4096, features: int = 16) -> TensorDataset:
    g = torch.Generator().manual_seed(0)  # every rank builds the same data set
    x = torch.randn(n, features, generator=g)
    true_w = torch.linspace(-1.0, 1.0, features)
    y = x @ true_w + 0.5 + 0.05 * torch.randn(n, generator=g)
    return TensorDataset(x, y.unsqueeze(1))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--lr", type=float, default=0.05)
    args = parser.parse_args()

    dist.init_process_group("gloo")  # env:// — MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(1234)  # same initial weights everywhere (DDP also broadcasts them)
    model = DDP(nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 1)))
    data = make_data()
    sampler = DistributedSampler(data, num_replicas=world, rank=rank, shuffle=True, seed=0)
    loader = DataLoader(data, batch_size=64, sampler=sampler)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr)
    loss_fn = nn.MSELoss()

    step = 0
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)
        total, batches = torch.zeros(1), 0
        for x, y in loader:
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()  # gradients are averaged across every rank here
            opt.step()
            total += loss.detach()
            batches += 1
            step += 1
        dist.all_reduce(total)  # the mean loss over all ranks
        mean = (total / (batches * world)).item()
        if rank == 0:
            print(f"epoch {epoch + 1}: loss {mean:.4f}", flush=True)
            jupyter_kf.report(epoch=epoch + 1, step=step, loss=mean)  # a metric point

    # Every rank ends with the same parameters: print a checksum to compare.
    checksum = sum(p.detach().double().sum().item() for p in model.parameters())
    print(f"rank {rank}/{world} done, parameter checksum {checksum:.10f}", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
