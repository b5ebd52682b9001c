[CmdletBinding(SupportsShouldProcess = $true)]
param(
    # Connector installer: an https URL or a path on this PC
    [string] $Installer = 'https://example.com/downloads/Acme-quickbooksdesktop-connector.exe',
    # Codat client name of the connector to reinstall; empty: the only one found
    [ValidateLength(0, 200)]
    [ValidatePattern('^\z|^[^\x00-\x1f\x7f]*\z')]
    [string] $ClientName = 'O''Brien & Sons – Books',
    # Expected Codat Company ID (GUID); must match link.json or nothing is changed (the Web Connector keeps none: there it is used as given)
    [ValidatePattern('^\z|^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\z')]
    [string] $CompanyId = '8a210b68-6988-11ed-a1eb-0242ac120002',
    # Go on without a Company ID confirmed by link.json (none found, or none to match -CompanyId)
    [switch] $Force = $true,
    # How long to wait for the uninstaller and the installer
    [ValidateRange(1, 3600)]
    [int] $InstallTimeoutSeconds = 1200,
    # SHA-256 the installer must have; empty: it must carry a valid Codat or Intuit signature
    [ValidatePattern('^\z|^[0-9a-f]{64}\z')]
    [string] $InstallerSha256 = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
    # The connection was switched to ongoing sync in the Codat Portal (nothing is uninstalled before)
    [switch] $CodatSideDone = $true,
    # 'QuickBooks Connector' (or the Web Connector's application) was removed from QuickBooks' Integrated Applications (no installer starts before)
    [switch] $GrantRemoved = $true,
    # Total time this script may take; every wait stops when it is used up
    [ValidateRange(30, 86400)]
    [int] $TimeBudgetSeconds = 4200
)
