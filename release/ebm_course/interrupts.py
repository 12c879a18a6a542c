"""A notebook kernel's answer to Ctrl+C during training: one line, no ``SystemExit``.

Lightning answers an interrupt with ``SystemExit(1)``, which IPython shows as "An exception has
occurred ... SystemExit: 1" plus a warning on how to quit IPython, under the line
:class:`~ebm_course.lightning_hooks.KeepInterruptible` printed. ``config.run_banner`` installs
:func:`quiet_interrupt_exit` in the kernel. Lightning itself is not imported here: the banner
of a notebook that trains nothing with it should not pay for its import.
"""

from __future__ import annotations

import sys
import warnings

from .assertions import ipython_shell

_INTERRUPT = {"exit_pending": False}


def exit_follows() -> None:
    """Called by ``KeepInterruptible`` when it has reported an interrupt."""
    _INTERRUPT["exit_pending"] = True


def take_interrupt_exit() -> bool:
    """True once after :class:`KeepInterruptible` has reported an interrupt: the
    ``SystemExit(1)`` Lightning raises next is that interrupt's, already said in one line."""
    pending, _INTERRUPT["exit_pending"] = _INTERRUPT["exit_pending"], False
    return pending


def quiet_interrupt_exit(shell=None) -> bool:
    """In an IPython kernel, show nothing for the ``SystemExit`` that ends an interrupted
    ``trainer.fit`` (IPython would print "An exception has occurred ... SystemExit: 1" and a
    warning on how to quit IPython under the one line :class:`KeepInterruptible` printed); any
    other ``SystemExit`` shows as before. The cell still ends as failed, so "run all" stops
    there. False outside IPython."""
    shell = ipython_shell(shell)
    if shell is None:
        return False
    if getattr(shell.showtraceback, "_ebm_course", False):
        return True
    original = shell.showtraceback

    def showtraceback(exc_tuple=None, *args, **kwargs):
        etype = (exc_tuple or sys.exc_info())[0]
        if etype is SystemExit and take_interrupt_exit():
            return None
        return original(exc_tuple, *args, **kwargs)

    showtraceback._ebm_course = True
    shell.showtraceback = showtraceback
    warnings.filterwarnings("ignore", message="To exit: use 'exit', 'quit', or Ctrl-D.")
    return True
