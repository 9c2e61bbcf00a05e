"""Helpers the test folders share, imported by their full name (``tests.support.waiting``).

- ``waiting.wait_for``: the one way tests wait for something to become true.
- ``processes.job_processes``: the live processes of local jobs, to prove none outlives them.
- ``images.IMAGE``: the container image the tests' pods name (KWOK never pulls it).
"""
