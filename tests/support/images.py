"""The images the tests' pods and jobs name on the test control plane."""

import os

IMAGE = "python:3.11-slim"  # never pulled: KWOK stands in for the kubelet

# On the real node (tests/cluster/node): a tiny local image whose PATH starts with the
# project's venv; the node mounts the host's Python and the checkout into its containers.
PYTHON_IMAGE = os.environ.get("JKF_PYTHON_IMAGE", "jupyter-kf.test/python:3.11")
