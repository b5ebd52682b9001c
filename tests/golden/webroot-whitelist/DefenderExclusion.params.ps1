[CmdletBinding(SupportsShouldProcess = $true)]
param(
    # Add a Microsoft Defender exclusion for each connector folder (security trade-off)
    [switch] $DefenderExclusion = $true
)
