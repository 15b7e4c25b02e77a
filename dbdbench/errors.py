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
