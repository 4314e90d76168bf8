"""Benchmarks of the connector on the local RabbitMQ, PostgreSQL and the Rakuten sandbox.

Every figure is measured next to a baseline in the same run, and reported as a
ratio: the machines these run on are noisy, so bare times say little. See
bench/README.md; `python bench/run.py` runs them all.
"""
