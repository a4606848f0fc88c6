"""The outside world: virtualenvs and installers, git, file formats, stores."""
