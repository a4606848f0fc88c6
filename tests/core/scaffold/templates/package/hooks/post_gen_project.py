"""Prints the next step, as package templates do."""

print("post-gen: run 'pip install -e .' in {{ cookiecutter.project_name }}")
