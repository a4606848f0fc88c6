"""The core layer: plain functions and dataclasses; never prints, never exits."""
