"""Benchmark suites of scripts/bench, one module each (run, print_table, as_json)."""
