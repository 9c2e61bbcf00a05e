"""One DistributedDataParallel step of a tiny model (gloo on CPU), for benchmarks/local_launch.py.

The rendezvous comes from the environment (MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE), which
torchrun, jupyter-kf's local backend and the kubeflow SDK's local backend (through torchrun)
all set. Each rank prints

    FIRST_STEP <rank> <time.time() when its first optimizer step finished>
    TIMES {"rank": ..., "proc": ..., "script": ..., "imported": ..., "init": ..., "step": ...}

and exits. TIMES are wall-clock seconds: when the process was created (from /proc, 10 ms
resolution), when this code started, when torch was imported, when init_process_group
returned and when the step finished, so the benchmark can say where the time went.

Everything is inside ``first_step`` (imports too), because the kubeflow SDK's CustomTrainer
ships a function's source text alone: both launchers run exactly this code.
"""


def first_step():
    import json
    import os
    import time

    t_script = time.time()
    try:  # when this process was created: its age from /proc, against the boot clock
        with open("/proc/self/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - int(fields[19]) / os.sysconf("SC_CLK_TCK")
        t_proc = t_script - age
    except (OSError, ValueError, IndexError):
        t_proc = None

    import torch
    import torch.distributed as dist

    t_imported = time.time()
    dist.init_process_group("gloo")
    t_init = time.time()
    rank = dist.get_rank()

    torch.manual_seed(0)
    model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(16, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(8, 16), torch.randn(8, 1)
    loss = torch.nn.functional.mse_loss(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    t_step = time.time()

    print(f"FIRST_STEP {rank} {t_step:.6f}", flush=True)
    print(
        "TIMES "
        + json.dumps(
            {
                "rank": rank,
                "world": dist.get_world_size(),
                "proc": t_proc,
                "script": t_script,
                "imported": t_imported,
                "init": t_init,
                "step": t_step,
            }
        ),
        flush=True,
    )
    dist.destroy_process_group()


if __name__ == "__main__":
    first_step()
