"""Uses a variable the template does not define."""

print("{{ cookiecutter.no_such_variable.attr }}")
