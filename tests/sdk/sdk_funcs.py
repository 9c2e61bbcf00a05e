"""Training functions as a kubeflow SDK user writes them, for ``CustomTrainer(func=...)``.

The SDK ships a function's source (``inspect.getsource``) inlined in the trainer's command,
so each one imports what it needs inside its body. These run in the test image on the real
node, with the node's torchrun; ``kubeflow`` comes from ``PYTHONPATH`` (the image stands
in for one with the SDK installed: tests/sdk/conftest.py sets it to .venv-sdk's
site-packages, which the node mounts with the checkout).
"""


def hello(greeting: str = "hello"):
    import os

    print(f"{greeting} from node {os.environ.get('PET_NODE_RANK')}", flush=True)


def report_progress(steps: int = 2):
    import time

    from kubeflow.trainer import update_trainjob_status

    for step in range(1, steps + 1):
        sent = update_trainjob_status(
            progress_percent=int(100 * step / steps),
            estimated_remaining_seconds=(steps - step) * 6,
            metrics={"loss": round(1.0 / step, 3), "step": step},
        )
        print(f"posted step={step} sent={sent}", flush=True)
        if step < steps:
            time.sleep(5.5)  # the SDK sends at most one update every 5 s


def sleep_then_exit(seconds: int = 120):
    import time

    time.sleep(seconds)
