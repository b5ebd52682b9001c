"""qbd-fix: diagnose and fix the Codat QuickBooks Desktop connector on Windows PCs.

The package is a library first: :mod:`qbd_fix.remediations` describes each fix,
:mod:`qbd_fix.script` renders it to PowerShell, :mod:`qbd_fix.runners` runs it
locally or over PowerShell Remoting. The command line (:mod:`qbd_fix.cli`) is a
thin layer on top.
"""

__version__ = "0.1.0"
