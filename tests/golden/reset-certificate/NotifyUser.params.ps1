[CmdletBinding(SupportsShouldProcess = $true)]
param(
    # Codat client name, to pick its installer; empty: any connector installer
    [ValidateLength(0, 200)]
    [ValidatePattern('^\z|^[^\x00-\x1f\x7f]*\z')]
    [string] $ClientName = '',
    # Start the newest connector installer in the logged-on user's session (with the Web Connector: open their .qwc file in it)
    [switch] $LaunchInstaller,
    # Show the steps to the logged-on user in Notepad
    [switch] $NotifyUser = $true,
    # How much of the end of qbsdklog.txt to read for SDK error codes
    [ValidateRange(1, 16384)]
    [int] $SdkLogTailKiB = 256,
    # SHA-256 the installer must have; empty: it must carry a valid Codat or Intuit signature
    [ValidatePattern('^\z|^[0-9a-f]{64}\z')]
    [string] $InstallerSha256 = '',
    # 'QuickBooks Connector' (or the Web Connector's application) was removed from QuickBooks' Integrated Applications (-LaunchInstaller waits for it)
    [switch] $GrantRemoved,
    # Total time this script may take; every wait stops when it is used up
    [ValidateRange(30, 86400)]
    [int] $TimeBudgetSeconds = 300
)
