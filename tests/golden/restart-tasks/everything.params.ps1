[CmdletBinding(SupportsShouldProcess = $true)]
param(
    # Codat client name in the task names; empty: discover the one pair of tasks
    [string] $ClientName = 'O''Brien & Sons – Books',
    # How long to wait for each task (and the tray process) to start
    [int] $TaskTimeoutSeconds = 300,
    # Restart the PC when the tray process is still missing afterwards
    [switch] $RestartIfUnhealthy = $true
)
