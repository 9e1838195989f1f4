"""The benchmark harness: ``python3 tasks.py bench`` (see ``bench/run.py``).

Measures the tenant server, side by side with the peer, and writes
``bench/RESULTS.md``. Nothing here is imported by the product.
"""
