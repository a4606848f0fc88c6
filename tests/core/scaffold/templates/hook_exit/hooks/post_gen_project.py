"""Refuses after the files are written, with sys.exit("message")."""

import sys

print("post-gen: checking the answers")
sys.exit("the project name {{ cookiecutter.project_name }} is reserved")
