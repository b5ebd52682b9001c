[CmdletBinding(SupportsShouldProcess = $true)]
param(
    # Keep link.json values as they are (they may include secrets)
    [switch] $NoRedact,
    # Keep at most this many MiB of each log (the newest part)
    [int] $MaxFileMiB = 1,
    # How many days of Application-log errors to include
    [int] $EventDays = 0,
    # Folder on the PC for the zip; empty: the system temporary folder
    [string] $OutputDirectory = ''
)
