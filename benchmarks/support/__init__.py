"""What the benchmarks share; it imports nothing from tests/.

A benchmark runs as ``.venv/bin/python benchmarks/<name>.py`` from the repository root, so
its own folder comes first on the import path and it imports these as ``support.<module>``. The
drivers here that run as their own process (``k8s_driver.py``, ``kubeflow_sdk_driver.py``,
``kubeflow_sdk_latency.py``, ``ddp_first_step.py``, often in a peer's virtualenv) import
their neighbours by plain name, for the same reason.
"""
