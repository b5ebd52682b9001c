[CmdletBinding(SupportsShouldProcess = $true)]
param(
    # End a running Web Connector (a sync in progress stops) and start it again
    [switch] $ForceClose = $true,
    # Rename QWCLog.txt to a timestamped backup and let the Users group modify its folder (QBWC1033, QBWC1085); needs every Web Connector closed
    [switch] $ResetLog = $true,
    # How long to wait for the Web Connector to appear in each user's session
    [ValidateRange(1, 600)]
    [int] $StartTimeoutSeconds = 120,
    # Total time this script may take; every wait stops when it is used up
    [ValidateRange(30, 86400)]
    [int] $TimeBudgetSeconds = 360
)
