[CmdletBinding(SupportsShouldProcess = $true)]
param(
    # Codat client name in the task names; empty: discover the one pair of tasks
    [ValidateLength(0, 200)]
    [ValidatePattern('^\z|^[^\x00-\x1f\x7f]*\z')]
    [string] $ClientName = 'O''Brien & Sons – Books',
    # How long to wait for each task (and the tray process) to start
    [ValidateRange(1, 600)]
    [int] $TaskTimeoutSeconds = 300,
    # Restart the PC when the tray process is still missing afterwards
    [switch] $RestartIfUnhealthy = $true,
    # Total time this script may take; every wait stops when it is used up
    [ValidateRange(30, 86400)]
    [int] $TimeBudgetSeconds = 960
)
