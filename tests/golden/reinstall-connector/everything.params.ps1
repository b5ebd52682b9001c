[CmdletBinding(SupportsShouldProcess = $true)]
param(
    # Connector installer: an https URL or a path on this PC
    [string] $Installer = 'https://example.com/downloads/Acme-quickbooksdesktop-connector.exe',
    # Codat client name of the connector to reinstall; empty: the only one found
    [string] $ClientName = 'O''Brien & Sons – Books',
    # Expected Codat Company ID (GUID); must match link.json or nothing is changed
    [string] $CompanyId = '8a210b68-6988-11ed-a1eb-0242ac120002',
    # Go on without a Company ID confirmed by link.json (none found, or none to match -CompanyId)
    [switch] $Force = $true,
    # How long to wait for the uninstaller and the installer
    [int] $InstallTimeoutSeconds = 1200,
    # SHA-256 the installer must have; empty: it must carry a valid Codat or Intuit signature
    [ValidatePattern('^([0-9A-Fa-f]{64})?$')]
    [string] $InstallerSha256 = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
    # The connection was switched to ongoing sync in the Codat Portal (nothing is uninstalled before)
    [switch] $CodatSideDone = $true,
    # 'QuickBooks Connector' was removed from QuickBooks' Integrated Applications (no installer starts before)
    [switch] $GrantRemoved = $true
)
