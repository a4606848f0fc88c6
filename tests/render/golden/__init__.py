"""The expected output of tests/render/test_golden.py, one text file per case."""
