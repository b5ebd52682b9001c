[CmdletBinding(SupportsShouldProcess = $true)]
param(
    # Keep link.json and Web Connector registry values as they are (they may include secrets; Web Connector values named like a secret are never read)
    [switch] $NoRedact = $true,
    # Keep at most this many MiB of each log (the newest part)
    [ValidateRange(1, 2048)]
    [int] $MaxFileMiB = 2048,
    # How many days of Application-log errors to include
    [ValidateRange(0, 90)]
    [int] $EventDays = 90,
    # Folder on the PC for the zip; empty: the system temporary folder
    [ValidatePattern('^\z|^[^\x00-\x1f\x7f]*\z')]
    [string] $OutputDirectory = 'C:\Temp\qbd logs',
    # Total time this script may take; every wait stops when it is used up
    [ValidateRange(30, 86400)]
    [int] $TimeBudgetSeconds = 4696
)
