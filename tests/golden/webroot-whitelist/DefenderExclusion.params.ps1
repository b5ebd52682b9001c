[CmdletBinding(SupportsShouldProcess = $true)]
param(
    # Add a Microsoft Defender exclusion for each connector folder and the Web Connector's install folder (security trade-off)
    [switch] $DefenderExclusion = $true,
    # Total time this script may take; every wait stops when it is used up
    [ValidateRange(30, 86400)]
    [int] $TimeBudgetSeconds = 300
)
