"""The benchmark harness behind ``scripts/bench`` (entry point: ``bench/run.py``).

A package rather than one script so that each concern (building the editions, starting the
servers, driving wrk, writing the report) can be read and changed on its own.
"""
