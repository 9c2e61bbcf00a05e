"""The image the tests' pods and jobs name on the test control plane."""

IMAGE = "python:3.11-slim"  # never pulled: KWOK stands in for the kubelet
