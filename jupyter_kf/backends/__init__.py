"""Backends run jobs. Each one implements ``base.Backend`` and passes tests/contract."""
