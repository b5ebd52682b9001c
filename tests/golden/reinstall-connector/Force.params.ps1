[CmdletBinding(SupportsShouldProcess = $true)]
param(
    # Connector installer: an https URL or a path on this PC
    [string] $Installer = '',
    # Codat client name of the connector to reinstall; empty: the only one found
    [string] $ClientName = '',
    # Expected Codat Company ID (GUID); must match link.json or nothing is changed
    [string] $CompanyId = '',
    # Go on without a Company ID confirmed by link.json (none found, or none to match -CompanyId)
    [switch] $Force = $true,
    # How long to wait for the uninstaller and the installer
    [int] $InstallTimeoutSeconds = 600,
    # SHA-256 the installer must have; empty: it must carry a valid Codat or Intuit signature
    [ValidatePattern('^([0-9A-Fa-f]{64})?$')]
    [string] $InstallerSha256 = '',
    # The connection was switched to ongoing sync in the Codat Portal (nothing is uninstalled before)
    [switch] $CodatSideDone,
    # 'QuickBooks Connector' was removed from QuickBooks' Integrated Applications (no installer starts before)
    [switch] $GrantRemoved
)
