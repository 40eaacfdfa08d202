"""The one exception for unusable input: ``InputError``.

Validators raise it with one line saying what is wrong and how to mend it; the command
line turns it (and OSError) into that line on stderr and exit status 2, so any other
exception is a bug in lrsched and shows its traceback.
"""


class InputError(ValueError):
    """Unusable input (an argument, a file, a spec): the message is one line that says
    what is wrong and how to mend it."""
