"""The one exception type for errors a user can cause.

Every message names the file (or option) at fault and says how to fix it. The CLI prints it as one
line, without a traceback, and exits with status 2.
"""


class DbdError(Exception):
    """A user-caused error: bad input file, missing folder, unmatched names, bad option.

    Parameters
    ----------
    message : str
        One line that names the file or option and the fix.
    """

    exit_code = 2


class ParameterError(DbdError):
    """A bad value of a library function's parameter, named as the function spells it.

    The message is a template whose ``{name}`` fields are parameter names; from Python they read as
    the names themselves (``bootstrap must be 0 or more``), and a command line re-spells them as its
    options with :meth:`spelled` (``--bootstrap must be 0 or more``).

    Parameters
    ----------
    template : str
        One line naming the parameter(s) as ``{name}`` fields, and the fix.
    python : dict of str to str, optional
        How Python reads a field that is not a bare parameter name (``{"resize_on": "resize=True"}``).
    **values
        Other fields of the template (values, paths), inserted as they are.
    """

    def __init__(self, template: str, *, python: dict[str, str] | None = None, **values):
        import string

        self.template = template
        self.values = values
        fields = {f for _, f, _, _ in string.Formatter().parse(template) if f}
        self.params = tuple(sorted(fields - set(values)))
        python = python or {}
        super().__init__(self.spelled(lambda name: python.get(name, name)))

    def spelled(self, spell) -> str:
        """The message with every parameter field replaced by ``spell(name)`` (e.g. an option)."""
        return self.template.format(**{p: spell(p) for p in self.params}, **self.values)
