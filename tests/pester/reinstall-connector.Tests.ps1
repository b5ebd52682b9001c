# reinstall-connector on a fake PC: a read-only plan first, nothing changed when a check fails;
# then backup, uninstall, install and the Company ID check, each stopping the run when it fails.

BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath 'Helpers.ps1')
    $script:Path = Join-Path -Path $PSScriptRoot -ChildPath 'out/reinstall-connector.ps1'
    . (Join-Path -Path $PSScriptRoot -ChildPath 'InstallerFakes.ps1')
    Set-FakeMachineMock
    Set-InstallerFakeMock

    function New-TestUninstallerProcess {
        # Shaped like Start-Process -PassThru: an uninstaller that removes its entry when it ends,
        # or one that never ends (waiting for a click nobody can give).
        param([string] $RemoveKey = '', [switch] $Stuck)
        $process = [pscustomobject]@{ Id = 4242; Handle = [IntPtr]::Zero; ExitCode = 0; RemoveKey = $RemoveKey; Stuck = [bool]$Stuck }
        $process | Add-Member -MemberType ScriptMethod -Name WaitForExit -Value {
            param($Milliseconds)
            if ($this.Stuck) { return $false }
            if ($this.RemoveKey) { $null = $global:FakeMachine.Registry.Remove((ConvertTo-FakeRegistryKey -Path $this.RemoveKey).ToLowerInvariant()) }
            return $true
        }
        return $process
    }

    function Add-TestConnectorEntry {
        # The legacy connector's own Apps & features entry, with a quiet uninstaller.
        param([Parameter(Mandatory = $true)] [hashtable] $Machine, [Parameter(Mandatory = $true)] [string] $Install)
        return Add-FakeUninstallEntry -Machine $Machine -KeyName 'Acme Books QuickBooks Connector' -Values @{
            DisplayName          = 'Acme Books QuickBooks Connector'
            DisplayVersion       = '2.4.1'
            Publisher            = 'Codat'
            InstallLocation      = $Install
            UninstallString      = ('"{0}\unins000.exe"' -f $Install)
            QuietUninstallString = ('"{0}\unins000.exe" /VERYSILENT /NORESTART' -f $Install)
        }
    }
}

Describe 'reinstall-connector' {
    BeforeEach {
        $machine = New-FakeMachine -Root (New-FakeRoot -Base $TestDrive)
        Add-FakeSystemProfile -Machine $machine
        $alice = Add-FakeUser -Machine $machine -UserName 'alice' -LoggedOn
        Set-TestAdministrator -Machine $machine -Account 'PC\alice'
        $companyId = '6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b'
        $otherId = '0a0b0c0d-1e1f-4a2b-8c3d-4e5f6a7b8c9d'
        $secret = 'connector-secret-7Qx'
        $installer = Write-FakeProgram -Path (Join-Path -Path $alice.Profile -ChildPath 'Downloads\Acme Books-quickbooksdesktop-connector.exe')
        $installerHash = (Get-FileHash -LiteralPath $installer -Algorithm SHA256).Hash.ToLowerInvariant()
        $backups = Join-Path -Path $machine.ProgramData -ChildPath 'qbd-fix'
        $ready = @{ ClientName = 'Acme Books'; Installer = $installer; CodatSideDone = $true; GrantRemoved = $true }
    }

    AfterEach {
        Restore-FakeMachine
    }

    Context 'the plan refuses, and nothing changes' {
        It 'fails on a Company ID mismatch' {
            $install = Add-FakeLegacyConnector -Machine $machine -ClientName 'Acme Books' -LinkJson ('{{"companyId":"{0}","token":"{1}"}}' -f $companyId, $secret)
            $null = Add-FakeTaskPair -Machine $machine -ClientName 'Acme Books' -State 'Running'

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters ($ready + @{ CompanyId = $otherId })

            $run.Result.status | Should -Be 'failed' -Because $run.Json
            $run.ExitCode | Should -Be 1
            $check = (Get-ResultCheck -Result $run.Result -Name 'company-id')[0]
            $check.passed | Should -BeFalse
            $check.evidence | Should -BeLike ('*{0}*{1}*' -f $companyId, $otherId)
            (Get-ResultMessage -Result $run.Result -Text 'as given in -CompanyId') | Should -HaveCount 1
            (Get-ResultMessage -Result $run.Result -Text 'Nothing was changed') | Should -HaveCount 1
            @($run.Result.actions) | Should -HaveCount 0
            $run.Json | Should -Not -BeLike ('*{0}*' -f $secret)
            Should -Invoke -CommandName Start-Process -Times 0 -Exactly
            Should -Invoke -CommandName Register-ScheduledTask -Times 0 -Exactly
            Should -Invoke -CommandName Stop-ScheduledTask -Times 0 -Exactly
            Test-Path -LiteralPath $backups | Should -BeFalse
            Test-Path -LiteralPath (Join-Path -Path $install -ChildPath 'link.json') -PathType Leaf | Should -BeTrue
        }

        It 'fails without -Force when link.json holds no Company ID and none is given' {
            $null = Add-FakeLegacyConnector -Machine $machine -ClientName 'Acme Books' -LinkJson ('{{"token":"{0}","region":"us"}}' -f $secret)

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters $ready

            $run.Result.status | Should -Be 'failed' -Because $run.Json
            (Get-ResultMessage -Result $run.Result -Text 'run again with -CompanyId <GUID> (from the Codat Portal), or with -Force') | Should -HaveCount 1
            $run.Json | Should -Not -BeLike '*--force*'
            @($run.Result.actions) | Should -HaveCount 0
            Test-Path -LiteralPath $backups | Should -BeFalse
        }

        It 'fails when two connectors are installed and no client is named, naming -ClientName' {
            $null = Add-FakeLegacyConnector -Machine $machine -ClientName 'Acme Books' -LinkJson ('{{"companyId":"{0}"}}' -f $companyId)
            $null = Add-FakeLegacyConnector -Machine $machine -ClientName 'Beta Ltd' -LinkJson ('{{"companyId":"{0}"}}' -f $otherId)

            $parameters = $ready.Clone()
            $parameters.ClientName = ''

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters $parameters

            $run.Result.status | Should -Be 'failed' -Because $run.Json
            (Get-ResultMessage -Result $run.Result -Text 'run again with -ClientName') | Should -HaveCount 1
            @($run.Result.actions) | Should -HaveCount 0
        }

        It 'needs the Codat-side switch to ongoing sync and the removed grant first, and names both' {
            $install = Add-FakeLegacyConnector -Machine $machine -ClientName 'Acme Books' -LinkJson ('{{"companyId":"{0}"}}' -f $companyId)
            $null = Add-TestConnectorEntry -Machine $machine -Install $install
            $null = Add-FakeUninstallEntry -Machine $machine -KeyName '{8F6D2E4A-1B3C-4D5E-9F70-A1B2C3D4E5F6}' -Values @{
                DisplayName = 'QuickBooks Desktop Pro 2024'; DisplayVersion = '34.0.4006.3405'; Publisher = 'Intuit Inc.'; InstallLocation = 'C:\Program Files\Intuit\QuickBooks 2024\'
            }

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = 'Acme Books'; Installer = $installer }

            $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
            $run.ExitCode | Should -Be 3
            (Get-ResultCheck -Result $run.Result -Name 'codat-side-done')[0].passed | Should -BeFalse
            (Get-ResultCheck -Result $run.Result -Name 'grant-removed')[0].passed | Should -BeFalse
            (Get-ResultMessage -Result $run.Result -Text 'Then run this again with -CodatSideDone') | Should -HaveCount 1
            (Get-ResultMessage -Result $run.Result -Text 'Then run this again with -GrantRemoved') | Should -HaveCount 1
            (Get-ResultMessage -Result $run.Result -Text 'Integrated Applications') | Should -Not -BeNullOrEmpty
            $run.Result.data.plan_ready | Should -BeFalse
            @($run.Result.actions) | Should -HaveCount 0
            Should -Invoke -CommandName Start-Process -Times 0 -Exactly
            Test-Path -LiteralPath $backups | Should -BeFalse
        }

        It 'uninstalls nothing when qbd-fix''s data folder belongs to a standard user' {
            # A folder a user made in ProgramData would let that user swap the checked installer.
            $install = Add-FakeLegacyConnector -Machine $machine -ClientName 'Acme Books' -LinkJson ('{{"companyId":"{0}"}}' -f $companyId)
            $null = Add-TestConnectorEntry -Machine $machine -Install $install
            $null = [System.IO.Directory]::CreateDirectory((Join-Path -Path $machine.ProgramData -ChildPath 'qbd-fix'))
            $machine['DataFolderOwner'] = 'S-1-5-21-1000-2000-3000-1001'

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters $ready

            $run.Result.status | Should -Be 'failed' -Because $run.Json
            $check = (Get-ResultCheck -Result $run.Result -Name 'data-folder-owner')[0]
            $check.passed | Should -BeFalse
            $check.evidence | Should -BeLike '*S-1-5-21-1000-2000-3000-1001*'
            (Get-ResultMessage -Result $run.Result -Text 'cannot be trusted') | Should -HaveCount 1
            @($run.Result.actions) | Should -HaveCount 0
            Should -Invoke -CommandName Start-Process -Times 0 -Exactly
            Should -Invoke -CommandName Register-ScheduledTask -Times 0 -Exactly
            @(Get-ChildItem -LiteralPath $backups -Force) | Should -HaveCount 0
        }

        It 'uninstalls nothing when the installer is not signed' {
            $install = Add-FakeLegacyConnector -Machine $machine -ClientName 'Acme Books' -LinkJson ('{{"companyId":"{0}"}}' -f $companyId)
            $null = Add-TestConnectorEntry -Machine $machine -Install $install
            Mock -CommandName Get-AuthenticodeSignature -MockWith { New-TestSignature -Status 'NotSigned' -Subject '' }

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters $ready

            $run.Result.status | Should -Be 'failed' -Because $run.Json
            (Get-ResultCheck -Result $run.Result -Name 'installer-trusted')[0].passed | Should -BeFalse
            $run.Result.data.installer.trust.signature_status | Should -Be 'NotSigned'
            $run.Result.data.installer.trust.sha256 | Should -Be $installerHash
            (Get-ResultMessage -Result $run.Result -Text 'is not trusted: its Authenticode signature is not valid (status NotSigned)') | Should -HaveCount 1
            @($run.Result.actions) | Should -HaveCount 0
            Should -Invoke -CommandName Start-Process -Times 0 -Exactly
            Should -Invoke -CommandName Register-ScheduledTask -Times 0 -Exactly
            Test-Path -LiteralPath $backups | Should -BeFalse
        }

        It 'uninstalls nothing when the installer is validly signed by someone else' {
            $install = Add-FakeLegacyConnector -Machine $machine -ClientName 'Acme Books' -LinkJson ('{{"companyId":"{0}"}}' -f $companyId)
            $null = Add-TestConnectorEntry -Machine $machine -Install $install
            Mock -CommandName Get-AuthenticodeSignature -MockWith { New-TestSignature -Subject 'CN="Codat Limited Tools, Inc.", O=Example, C=US' }

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters $ready

            $run.Result.status | Should -Be 'failed' -Because $run.Json
            $run.Result.data.installer.trust.signature_status | Should -Be 'Valid'
            $run.Result.data.installer.trust.signer | Should -Be 'Codat Limited Tools, Inc.'
            $run.Result.data.installer.trust.trusted | Should -BeFalse
            (Get-ResultMessage -Result $run.Result -Text 'it is signed by ''Codat Limited Tools, Inc.''') | Should -HaveCount 1
            @($run.Result.actions) | Should -HaveCount 0
            Should -Invoke -CommandName Start-Process -Times 0 -Exactly
        }

        It 'uninstalls nothing on a SHA-256 mismatch, even with a valid Codat signature' {
            $install = Add-FakeLegacyConnector -Machine $machine -ClientName 'Acme Books' -LinkJson ('{{"companyId":"{0}"}}' -f $companyId)
            $null = Add-TestConnectorEntry -Machine $machine -Install $install
            $wrong = 'ab' * 32

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters ($ready + @{ InstallerSha256 = $wrong })

            $run.Result.status | Should -Be 'failed' -Because $run.Json
            $run.Result.data.installer.trust.expected_sha256 | Should -Be $wrong
            $run.Result.data.installer.trust.sha256 | Should -Be $installerHash
            (Get-ResultMessage -Result $run.Result -Text ('its SHA-256 is {0}, not {1} as given in -InstallerSha256' -f $installerHash, $wrong)) | Should -HaveCount 1
            @($run.Result.actions) | Should -HaveCount 0
            Should -Invoke -CommandName Start-Process -Times 0 -Exactly
        }

        It 'refuses a -InstallerSha256 that is not 64 hex characters before the script runs' {
            { & $script:Path @ready -InstallerSha256 'not-a-digest' } | Should -Throw -ExpectedMessage '*InstallerSha256*'
        }

        It 'stops before uninstalling when the only user is not an administrator' {
            Set-TestAdministrator -Machine $machine -Account @()
            $install = Add-FakeLegacyConnector -Machine $machine -ClientName 'Acme Books' -LinkJson ('{{"companyId":"{0}"}}' -f $companyId)
            $null = Add-TestConnectorEntry -Machine $machine -Install $install

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters $ready

            $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
            $run.ExitCode | Should -Be 3
            $run.Result.data.install_run.mode | Should -BeNullOrEmpty
            (Get-ResultMessage -Result $run.Result -Text 'PC\alice is not an administrator') | Should -HaveCount 1
            (Get-ResultMessage -Result $run.Result -Text 'nothing was uninstalled') | Should -HaveCount 1
            @($run.Result.actions) | Should -HaveCount 0
            Should -Invoke -CommandName Start-Process -Times 0 -Exactly
            Should -Invoke -CommandName Register-ScheduledTask -Times 0 -Exactly
            Test-Path -LiteralPath $backups | Should -BeFalse
        }

        It 'plans an MSI to run silently as SYSTEM, even when the user is not an administrator' {
            Set-TestAdministrator -Machine $machine -Account @()
            $install = Add-FakeLegacyConnector -Machine $machine -ClientName 'Acme Books' -LinkJson ('{{"companyId":"{0}"}}' -f $companyId)
            $null = Add-TestConnectorEntry -Machine $machine -Install $install
            $msi = Write-FakeProgram -Path (Join-Path -Path $machine.ProgramData -ChildPath 'Installers\Acme Books Connector.msi')
            $parameters = $ready.Clone()
            $parameters.Installer = $msi

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters ($parameters + @{ WhatIf = $true })

            $run.Result.status | Should -Be 'ok' -Because $run.Json
            $run.Result.data.plan_ready | Should -BeTrue
            $run.Result.data.install_run.mode | Should -Be 'system'
            # The MSI runs from qbd-fix's own copy, checked again there, never from where it was found.
            $staged = $run.Result.data.installer.path
            $staged | Should -BeLike '*qbd-fix*downloads*'
            $run.Result.data.install_run.argument | Should -Be ('/i "{0}" /qn /norestart' -f $staged)
            @(Get-ResultAction -Result $run.Result -Text 'as SYSTEM (silent)') | Should -HaveCount 1
        }

        It 'plans the per-user connector''s uninstall and install as its user, not elevated' {
            $folder = Add-FakePerUserConnector -Machine $machine -User $alice
            $null = Write-FakeFile -Path (Join-Path -Path $folder -ChildPath 'link.json') -Text ('{{"companyId":"{0}"}}' -f $companyId)
            $hive = 'Registry::HKEY_USERS\{0}\Software\Microsoft\Windows\CurrentVersion\Uninstall' -f $alice.Sid
            $null = Add-FakeUninstallEntry -Machine $machine -Root $hive -KeyName 'CodatQuickBooksConnector' -Values @{
                DisplayName     = 'QuickBooks Desktop Connector'
                Publisher       = 'Codat'
                InstallLocation = $folder
                UninstallString = ('"{0}\QuickBooksDesktopUninstaller.exe"' -f $folder)
            }
            Set-TestAdministrator -Machine $machine -Account @()
            $parameters = $ready.Clone()
            $parameters.ClientName = ''

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters ($parameters + @{ WhatIf = $true })

            $run.Result.status | Should -Be 'ok' -Because $run.Json
            $run.Result.data.connector.generation | Should -Be 'per-user'
            $run.Result.data.install_run.mode | Should -Be 'user'
            $run.Result.data.install_run.run_level | Should -Be 'Limited'
            $run.Result.data.install_run.account | Should -Be 'PC\alice'
            @($run.Result.data.uninstall) | Should -HaveCount 1
            $run.Result.data.uninstall[0].mode | Should -Be 'user'
            $run.Result.data.uninstall[0].run_level | Should -Be 'Limited'
        }

        It 'checks a downloaded installer after the download and uninstalls nothing when it is unsigned' {
            $install = Add-FakeLegacyConnector -Machine $machine -ClientName 'Acme Books' -LinkJson ('{{"companyId":"{0}"}}' -f $companyId)
            $null = Add-TestConnectorEntry -Machine $machine -Install $install
            Mock -CommandName Invoke-WebRequest -MockWith { $null = Write-FakeProgram -Path ([string]$PesterBoundParameters['OutFile']) }
            Mock -CommandName Get-AuthenticodeSignature -MockWith { New-TestSignature -Status 'HashMismatch' }
            $parameters = $ready.Clone()
            $parameters.Installer = 'https://example.com/downloads/Acme%20Books-quickbooksdesktop-connector.exe'

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters $parameters

            $run.Result.status | Should -Be 'failed' -Because $run.Json
            (Get-ResultAction -Result $run.Result -Text 'Download the connector installer from example.com')[0].performed | Should -BeTrue
            $run.Result.data.installer.trust.signature_status | Should -Be 'HashMismatch'
            (Get-ResultCheck -Result $run.Result -Name 'installer-trusted')[0].passed | Should -BeFalse
            @($run.Result.actions | Where-Object { $_.performed }) | Should -HaveCount 1
            Should -Invoke -CommandName Start-Process -Times 0 -Exactly
            Test-Path -LiteralPath (Join-Path -Path $machine.ProgramData -ChildPath 'qbd-fix\backups') | Should -BeFalse
        }

        It 'leaves a per-user Codat folder without the QuickBooks connector (Sage 50) alone' {
            $folder = Join-Path -Path $alice.Profile -ChildPath 'AppData\Local\Codat'
            $null = Write-FakeProgram -Path (Join-Path -Path $folder -ChildPath 'Sage50Connector.exe')

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters ($ready + @{ WhatIf = $true; Force = $true })

            (Get-ResultMessage -Result $run.Result -Text ('{0} holds no QuickBooks connector program' -f $folder)) | Should -HaveCount 1
            $run.Result.data.connector.path | Should -BeNullOrEmpty
            @($run.Result.data.uninstall) | Should -HaveCount 0
            @(Get-ResultAction -Result $run.Result -Text 'Uninstall') | Should -HaveCount 0
        }
    }

    Context 'the steps' {
        BeforeEach {
            $install = Add-FakeLegacyConnector -Machine $machine -ClientName 'Acme Books' -LinkJson ('{{"companyId":"{0}","token":"{1}"}}' -f $companyId, $secret)
            $null = Add-FakeTaskPair -Machine $machine -ClientName 'Acme Books' -State 'Running'
            $entryKey = Add-TestConnectorEntry -Machine $machine -Install $install
            $machine['UninstallKey'] = $entryKey
            Mock -CommandName Start-Process -MockWith { New-TestUninstallerProcess -RemoveKey $global:FakeMachine.UninstallKey }
        }

        It 'lists every step and performs none under -WhatIf' {
            $null = Add-FakeProcess -Machine $machine -Name 'QuickbooksDesktopUI.exe' -ExecutablePath (Join-Path -Path $install -ChildPath 'QuickbooksDesktopUI.exe') -User 'alice'
            $before = Get-FakeTree -Root $machine.Root
            # Upper case: the script compares Company IDs in one canonical form.
            $given = $companyId.ToUpperInvariant()

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters ($ready + @{ CompanyId = $given; WhatIf = $true })

            $run.Result.status | Should -Be 'ok' -Because $run.Json
            $run.ExitCode | Should -Be 0
            $run.Result.data.what_if | Should -BeTrue
            $run.Result.data.plan_ready | Should -BeTrue
            $run.Result.data.company_id | Should -Be $companyId
            $run.Result.data.installer_user | Should -Be 'PC\alice'
            $run.Result.data.install_run.run_level | Should -Be 'Highest'
            @($run.Result.data.uninstall) | Should -HaveCount 1
            $run.Result.data.uninstall[0].kind | Should -Be 'quiet'
            $run.Result.data.installer.trust.trusted_by | Should -Be 'signature'
            $run.Result.data.installer.trust.signer | Should -Be 'Codat Limited'
            foreach ($step in @('Back up', 'Stop scheduled task', 'End process', 'Uninstall (quiet uninstaller)', 'Run the connector installer')) {
                @(Get-ResultAction -Result $run.Result -Text $step).Count | Should -BeGreaterThan 0 -Because ('{0} should be listed' -f $step)
            }
            @($run.Result.actions | Where-Object { $_.performed }) | Should -HaveCount 0
            (Get-ResultMessage -Result $run.Result -Text 'WhatIf: nothing was changed') | Should -HaveCount 1
            (Get-ResultMessage -Result $run.Result -Text ('SAME Company ID: {0}' -f $companyId)) | Should -HaveCount 1
            $run.Json | Should -Not -BeLike ('*{0}*' -f $secret)
            Should -Invoke -CommandName Start-Process -Times 0 -Exactly
            Should -Invoke -CommandName Stop-Process -Times 0 -Exactly
            Should -Invoke -CommandName Stop-ScheduledTask -Times 0 -Exactly
            Should -Invoke -CommandName Register-ScheduledTask -Times 0 -Exactly
            Should -Invoke -CommandName Invoke-WebRequest -Times 0 -Exactly
            Test-Path -LiteralPath $backups | Should -BeFalse
            (Get-FakeTree -Root $machine.Root) -join [Environment]::NewLine | Should -Be ($before -join [Environment]::NewLine)
            # The steps it would take are reported too; the result is still the last line.
            $run.Steps | Should -Be @(
                'Planning: reading the connector, its Company ID, the installer and who can run it',
                'Copying the installer into qbd-fix''s own folder',
                'Backing up link.json and the logs',
                'Stopping the connector',
                'Uninstalling the connector (1 Apps & features entry(ies), up to 600 s each)',
                'Starting the installer on the user''s desktop'
            )
            $run.Stdout[-1] | Should -BeExactly $run.Json
            @($run.Stdout | Where-Object { $_.StartsWith('{') }) | Should -HaveCount 1
            @($run.Stdout | Select-Object -SkipLast 1 | Where-Object { -not $_.StartsWith('qbd-step: ') }) | Should -HaveCount 0
        }

        It 'reports each step as an information record tagged qbd-step, in order, with no user value in it' {
            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters $ready

            $run.Result.status | Should -Be 'changed' -Because $run.Json
            $run.Steps | Should -Be @(
                'Planning: reading the connector, its Company ID, the installer and who can run it',
                'Copying the installer into qbd-fix''s own folder',
                'Checking the installer''s signature',
                'Backing up link.json and the logs',
                'Stopping the connector',
                'Uninstalling the connector (1 Apps & features entry(ies), up to 600 s each)',
                'Starting the installer on the user''s desktop',
                'Waiting for the installer (up to 600 s)'
            )
            ($run.Steps -join '|') | Should -Not -BeLike '*Acme*'
            ($run.Steps -join '|') | Should -Not -BeLike ('*{0}*' -f $companyId)
        }

        It 'reports only the steps it reached when the plan refuses' {
            Mock -CommandName Get-AuthenticodeSignature -MockWith { New-TestSignature -Status 'NotSigned' -Subject '' }

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters $ready

            $run.Result.status | Should -Be 'failed' -Because $run.Json
            $run.Steps | Should -Be @('Planning: reading the connector, its Company ID, the installer and who can run it')
        }

        It 'lists ending only the tray app whose program is in the connector folder under -WhatIf' {
            $tray = Add-FakeProcess -Machine $machine -Name 'QuickbooksDesktopUI.exe' -ExecutablePath (Join-Path -Path $install -ChildPath 'QuickbooksDesktopUI.exe') -User 'alice'
            $null = Add-FakeProcess -Machine $machine -Name 'QuickbooksDesktopUI.exe' -ExecutablePath 'C:\Program Files (x86)\Other Client\QuickBooks-connector\QuickbooksDesktopUI.exe' -User 'alice'

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters ($ready + @{ CompanyId = $companyId; WhatIf = $true })

            $run.Result.status | Should -Be 'ok' -Because $run.Json
            $ends = @(Get-ResultAction -Result $run.Result -Text 'End process')
            $ends | Should -HaveCount 1
            $ends[0].description | Should -BeLike ('*{0}*' -f $tray.ProcessId)
            $ends[0].performed | Should -BeFalse
            Should -Invoke -CommandName Stop-Process -Times 0 -Exactly
        }

        It 'backs up, uninstalls quietly, runs the installer elevated for the admin and keeps the Company ID' {
            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters ($ready + @{ InstallerSha256 = $installerHash.ToUpperInvariant() })

            $run.Result.status | Should -Be 'changed' -Because $run.Json
            $run.ExitCode | Should -Be 0
            $run.Result.data.installer.trust.trusted_by | Should -Be 'sha256'
            (Get-ResultCheck -Result $run.Result -Name 'backup-verified')[0].passed | Should -BeTrue
            (Get-ResultCheck -Result $run.Result -Name 'uninstalled')[0].passed | Should -BeTrue
            (Get-ResultCheck -Result $run.Result -Name 'installer-started')[0].passed | Should -BeTrue
            (Get-ResultCheck -Result $run.Result -Name 'company-id-kept')[0].passed | Should -BeTrue
            Test-Path -LiteralPath (Join-Path -Path $run.Result.data.backup.folder -ChildPath 'link.json') -PathType Leaf | Should -BeTrue
            $protected = $global:FakeMachine['Acls'][[string]$run.Result.data.backup.folder]
            $protected | Should -Not -BeNullOrEmpty -Because 'the backup folder holds link.json: administrators and SYSTEM only'
            $summary = Get-TestAclSummary -Acl $protected
            $summary.Protected | Should -BeTrue
            ($summary.Sids | Sort-Object) -join ',' | Should -Be 'S-1-5-18,S-1-5-32-544'
            Should -Invoke -CommandName Start-Process -Times 1 -Exactly -ParameterFilter { $PesterBoundParameters['ArgumentList'] -eq '/VERYSILENT /NORESTART' }
            $staged = $run.Result.data.installer.path
            $staged | Should -BeLike '*qbd-fix*downloads*'
            Should -Invoke -CommandName New-ScheduledTaskAction -Times 1 -Exactly -ParameterFilter { $PesterBoundParameters['Execute'] -eq $staged }
            Should -Invoke -CommandName New-ScheduledTaskPrincipal -Times 1 -Exactly -ParameterFilter { [string]$PesterBoundParameters['RunLevel'] -eq 'Highest' }
        }

        It 'runs the installer on the desktop of the user who runs the tray app when two are signed in' {
            $bob = Add-FakeUser -Machine $machine -UserName 'bob' -LoggedOn
            Set-TestAdministrator -Machine $machine -Account 'PC\alice', 'PC\bob'
            $null = Add-FakeProcess -Machine $machine -Name 'QuickbooksDesktopUI.exe' -ExecutablePath (Join-Path -Path $install -ChildPath 'QuickbooksDesktopUI.exe') -User 'bob'

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters ($ready + @{ WhatIf = $true })

            $run.Result.status | Should -Be 'ok' -Because $run.Json
            @($run.Result.data.interactive_users) | Should -HaveCount 2
            $run.Result.data.installer_user | Should -Be 'PC\bob'
            $run.Result.data.install_run.sid | Should -Be $bob.Sid
        }

        It 'fails when the backup cannot be made, before anything changes' {
            # A file where the backup folder's parent should be: the folder cannot be created.
            $null = Write-FakeFile -Path (Join-Path -Path $machine.ProgramData -ChildPath 'qbd-fix\backups') -Text 'not a folder'

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters $ready

            $run.Result.status | Should -Be 'failed' -Because $run.Json
            $run.Result.data.plan_ready | Should -BeFalse
            (Get-ResultMessage -Result $run.Result -Text 'cannot be created') | Should -HaveCount 1
            (Get-ResultMessage -Result $run.Result -Text 'Nothing was changed') | Should -Not -BeNullOrEmpty
            @($run.Result.actions) | Should -HaveCount 0
            Should -Invoke -CommandName Start-Process -Times 0 -Exactly
            Should -Invoke -CommandName Stop-ScheduledTask -Times 0 -Exactly
            Should -Invoke -CommandName Register-ScheduledTask -Times 0 -Exactly
        }

        It 'fails when a backup copy does not match what was read, uninstalls nothing and records the backup as not done' {
            # The copy on disk hashes differently from the bytes read (a failing disk, a filter driver).
            Mock -CommandName Get-FileHash -ParameterFilter { ([string]$PesterBoundParameters['LiteralPath']).IndexOf('backups', [System.StringComparison]::OrdinalIgnoreCase) -ge 0 } -MockWith {
                [pscustomobject]@{ Algorithm = 'SHA256'; Hash = ('00' * 32); Path = [string]$PesterBoundParameters['LiteralPath'] }
            }

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters $ready

            $run.Result.status | Should -Be 'failed' -Because $run.Json
            $run.Result.data.plan_ready | Should -BeTrue
            $check = (Get-ResultCheck -Result $run.Result -Name 'backup-verified')[0]
            $check.passed | Should -BeFalse
            $check.evidence | Should -BeLike '*does not match what was read*'
            $backup = @(Get-ResultAction -Result $run.Result -Text 'Back up')
            $backup | Should -HaveCount 1
            $backup[0].performed | Should -BeFalse
            (Get-ResultMessage -Result $run.Result -Text 'The connector was not uninstalled') | Should -HaveCount 1
            # Only the copy of the installer into qbd-fix's own folder was made.
            @($run.Result.actions | Where-Object { $_.performed } | ForEach-Object { $_.description -replace ':.*$', '' }) | Should -Be @('Copy the installer into qbd-fix''s own folder, where it is checked again and run from')
            Should -Invoke -CommandName Start-Process -Times 0 -Exactly
            Should -Invoke -CommandName Stop-ScheduledTask -Times 0 -Exactly
            Should -Invoke -CommandName Register-ScheduledTask -Times 0 -Exactly
        }

        It 'fails on a stuck uninstaller and does not start the installer' {
            Mock -CommandName Start-Process -MockWith { New-TestUninstallerProcess -Stuck }

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters $ready

            $run.Result.status | Should -Be 'failed' -Because $run.Json
            (Get-ResultCheck -Result $run.Result -Name 'uninstalled')[0].passed | Should -BeFalse
            (Get-ResultMessage -Result $run.Result -Text 'The uninstaller (process 4242) is still running after') | Should -HaveCount 1
            (Get-ResultMessage -Result $run.Result -Text 'The installer was not started') | Should -HaveCount 1
            @(Get-ResultAction -Result $run.Result -Text 'Run the connector installer') | Should -HaveCount 0
            Should -Invoke -CommandName Register-ScheduledTask -Times 0 -Exactly
        }

        It 'needs a person when the installer task does not start (<Code>)' -ForEach @(
            @{ Code = '0x800702E4'; Result = [uint32]2147943140 },
            @{ Code = '0x800710E0'; Result = [uint32]2147946720 },
            @{ Code = '0x80070002'; Result = [uint32]2147942402 }
        ) {
            Set-TestOneShotResult -Machine $machine -Result $Result

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters $ready

            $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
            $run.ExitCode | Should -Be 3
            $started = (Get-ResultCheck -Result $run.Result -Name 'installer-started')[0]
            $started.passed | Should -BeFalse
            $started.evidence | Should -BeLike ('*{0}*' -f $Code)
            $action = @(Get-ResultAction -Result $run.Result -Text 'Run the connector installer')
            $action | Should -HaveCount 1
            $action[0].performed | Should -BeFalse -Because 'a start that failed is not recorded as performed'
            (Get-ResultMessage -Result $run.Result -Text 'The installer was not started') | Should -HaveCount 1
            (Get-ResultMessage -Result $run.Result -Text ('SAME Company ID: {0}' -f $companyId)) | Should -HaveCount 1
        }

        It 'fails when the new link.json holds another Company ID' {
            $global:FakeMachine['NewLink'] = @{ Path = (Join-Path -Path $install -ChildPath 'link.json'); Text = ('{{"companyId":"{0}"}}' -f $otherId) }
            Mock -CommandName New-ScheduledTaskAction -MockWith {
                # The installer links the connector to another company.
                $null = Write-FakeFile -Path $global:FakeMachine.NewLink.Path -Text $global:FakeMachine.NewLink.Text
                [pscustomobject]@{ Execute = $PesterBoundParameters['Execute'] }
            }

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters $ready

            $run.Result.status | Should -Be 'failed' -Because $run.Json
            $kept = (Get-ResultCheck -Result $run.Result -Name 'company-id-kept')[0]
            $kept.passed | Should -BeFalse
            $kept.evidence | Should -BeLike ('*{0}*{1}*' -f $otherId, $companyId)
            (Get-ResultMessage -Result $run.Result -Text ('not the saved {0}' -f $companyId)) | Should -HaveCount 1
            Get-Content -LiteralPath (Join-Path -Path $run.Result.data.backup.folder -ChildPath 'company-id.txt') -Raw | Should -BeLike ('{0}*' -f $companyId)
        }

        It 'never removes an entry in the client''s folder above the connector''s unless it says QuickBooks' {
            # Another product of the same client can live in Program Files (x86)\<client>.
            $clientFolder = Split-Path -Path $install -Parent
            $null = Add-FakeUninstallEntry -Machine $machine -KeyName 'Acme Books Sage Connector' -Values @{
                DisplayName          = 'Acme Books Sage Connector'
                Publisher            = 'Codat'
                InstallLocation      = $clientFolder
                QuietUninstallString = ('"{0}\sage-uninstall.exe" /S' -f $clientFolder)
            }

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters $ready

            $run.Result.status | Should -Be 'changed' -Because $run.Json
            $kept = @($run.Result.data.not_removed | Where-Object { $_.name -eq 'Acme Books Sage Connector' })
            $kept | Should -HaveCount 1
            $kept[0].matched_by | Should -Be 'parent-folder'
            @($run.Result.data.uninstall | ForEach-Object { $_.name }) | Should -Be @('Acme Books QuickBooks Connector')
            Should -Invoke -CommandName Start-Process -Times 0 -Exactly -ParameterFilter { [string]$PesterBoundParameters['FilePath'] -like '*sage-uninstall*' }
        }

        It 'reports an entry matched only by name and never removes it' {
            $null = Add-FakeUninstallEntry -Machine $machine -KeyName 'Acme Books Connector Toolbar' -Values @{
                DisplayName          = 'Acme Books Connector Toolbar'
                Publisher            = 'Example Software'
                InstallLocation      = 'C:\Program Files\Example\Toolbar'
                QuietUninstallString = '"C:\Program Files\Example\Toolbar\remove.exe" /S'
            }

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters $ready

            $run.Result.status | Should -Be 'changed' -Because $run.Json
            @($run.Result.data.not_removed) | Should -HaveCount 1
            $run.Result.data.not_removed[0].name | Should -Be 'Acme Books Connector Toolbar'
            $run.Result.data.not_removed[0].matched_by | Should -Be 'name'
            @($run.Result.data.uninstall) | Should -HaveCount 1
            $run.Result.data.uninstall[0].name | Should -Be 'Acme Books QuickBooks Connector'
            (Get-ResultMessage -Result $run.Result -Text '"Acme Books Connector Toolbar" (') | Should -HaveCount 1
            Should -Invoke -CommandName Start-Process -Times 1 -Exactly
            Should -Invoke -CommandName Start-Process -Times 0 -Exactly -ParameterFilter { [string]$PesterBoundParameters['FilePath'] -like '*Toolbar*' }
        }
    }

    Context 'the Web Connector (current generation)' {
        BeforeEach {
            $webFolder = Add-FakeWebConnector -Machine $machine
            $webProgram = Join-Path -Path $webFolder -ChildPath 'QBWebConnector.exe'
            $qwc = Add-FakeWebConnectorLink -Machine $machine -User $alice
            $encrypted = 'AQAAANCMnd8BFdERjHoAwE/Cl+sBAAAA'
            $null = Add-FakeProcess -Machine $machine -Name 'QBWebConnector.exe' -ExecutablePath $webProgram -User 'alice'
            # Intuit's MSI entry, found by its folder (InstallLocation holds QBWebConnector.exe).
            $machine['WebEntry'] = @{
                DisplayName      = 'Web Connector'
                DisplayVersion   = '2.3.0.215'
                Publisher        = 'Intuit Inc.'
                InstallLocation  = $webFolder
                WindowsInstaller = 1
                UninstallString  = 'MsiExec.exe /X{B0B1C9A6-9D17-4C71-9AB3-5E1E3A8F0C21}'
            }
            $machine['UninstallKey'] = Add-FakeUninstallEntry -Machine $machine -KeyName '{B0B1C9A6-9D17-4C71-9AB3-5E1E3A8F0C21}' -Values $machine['WebEntry']
            Mock -CommandName Start-Process -MockWith { New-TestUninstallerProcess -RemoveKey $global:FakeMachine.UninstallKey }
            # The installer, run by the one-shot task, puts the Web Connector and its entry back.
            Mock -CommandName New-ScheduledTaskAction -MockWith {
                $null = Write-FakeProgram -Path (Join-Path -Path (Get-FakeWebConnectorFolder -Machine $global:FakeMachine) -ChildPath 'QBWebConnector.exe')
                $null = Add-FakeUninstallEntry -Machine $global:FakeMachine -KeyName '{B0B1C9A6-9D17-4C71-9AB3-5E1E3A8F0C21}' -Values $global:FakeMachine.WebEntry
                New-FakeTaskAction -Execute ([string]$PesterBoundParameters['Execute']) -Argument ([string]$PesterBoundParameters['Argument'])
            }
            $webInstaller = Write-FakeProgram -Path (Join-Path -Path $alice.Profile -ChildPath 'Downloads\QuickBooksDesktopConnector.exe')
            $webReady = @{ ClientName = ''; Installer = $webInstaller; CompanyId = $companyId; CodatSideDone = $true; GrantRemoved = $true }
        }

        It 'plans the whole reinstall and changes nothing under -WhatIf, settings shown with the password as ***' {
            $before = Get-FakeTree -Root $machine.Root

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters ($webReady + @{ WhatIf = $true })

            $run.Result.status | Should -Be 'ok' -Because $run.Json
            $run.ExitCode | Should -Be 0
            $run.Result.data.plan_ready | Should -BeTrue
            $run.Result.data.connector.generation | Should -Be 'web-connector'
            $run.Result.data.connector.path | Should -Be $webFolder
            $run.Result.data.installer.trust.trusted_by | Should -Be 'signature'
            @($run.Result.data.uninstall) | Should -HaveCount 1
            $run.Result.data.uninstall[0].name | Should -Be 'Web Connector'
            $run.Result.data.uninstall[0].kind | Should -Be 'msi'
            $run.Result.data.uninstall[0].arguments | Should -Be '/x {B0B1C9A6-9D17-4C71-9AB3-5E1E3A8F0C21} /qn /norestart'
            @($run.Result.data.web_connector.qwc_files | ForEach-Object { $_.path }) | Should -Be @($qwc)
            $settings = @($run.Result.data.web_connector.settings)
            $settings | Should -HaveCount 2
            @($settings | ForEach-Object { $_.sid } | Select-Object -Unique) | Should -Be @($alice.Sid)
            $app = @($settings | ForEach-Object { $_.keys } | Where-Object { $_.key -like '*\QB web connector\Codat QuickBooks Connector' })
            $app | Should -HaveCount 1
            $app[0].values.Password | Should -Be '***'
            $app[0].values.'Owner ID' | Should -Be '{57F3B9B1-86F1-4fcc-B1EE-566DE1813D20}'
            $app[0].values.AutoRun | Should -Be 1
            $run.Json | Should -Not -BeLike ('*{0}*' -f $encrypted)
            $readable = (Get-ResultCheck -Result $run.Result -Name 'company-id-readable')[0]
            $readable.passed | Should -BeFalse
            (Get-ResultMessage -Result $run.Result -Text ('-CompanyId {0} is used as given, not confirmed here' -f $companyId)) | Should -HaveCount 1
            foreach ($step in @('Back up', 'export 2 registry key(s)', 'End process', 'Uninstall (msi uninstaller)', 'Move the Web Connector folder into the backup', 'Run the connector installer')) {
                @(Get-ResultAction -Result $run.Result -Text $step).Count | Should -BeGreaterThan 0 -Because ('{0} should be listed' -f $step)
            }
            @($run.Result.actions | Where-Object { $_.performed }) | Should -HaveCount 0
            (Get-ResultMessage -Result $run.Result -Text 'Update Selected') | Should -HaveCount 1
            $run.Steps | Should -Contain 'Backing up the .qwc files, the Web Connector''s settings and its log'
            $run.Steps | Should -Contain 'Moving the Web Connector folder into the backup'
            $run.Stdout[-1] | Should -BeExactly $run.Json
            @($run.Stdout | Select-Object -SkipLast 1 | Where-Object { -not $_.StartsWith('qbd-step: ') }) | Should -HaveCount 0
            @($machine.RegCalls) | Should -HaveCount 0
            Should -Invoke -CommandName Start-Process -Times 0 -Exactly
            Should -Invoke -CommandName Stop-Process -Times 0 -Exactly
            Should -Invoke -CommandName Register-ScheduledTask -Times 0 -Exactly
            Test-Path -LiteralPath $backups | Should -BeFalse
            (Get-FakeTree -Root $machine.Root) -join [Environment]::NewLine | Should -Be ($before -join [Environment]::NewLine)
        }

        It 'backs up the .qwc file and the hive keys, uninstalls by the folder, moves the folder into the backup, installs and gives the linking steps' {
            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters $webReady

            $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
            $run.ExitCode | Should -Be 3
            $folder = [string]$run.Result.data.backup.folder
            $folder | Should -BeLike '*web-connector*'
            (Get-ResultCheck -Result $run.Result -Name 'backup-verified')[0].passed | Should -BeTrue
            Get-Content -LiteralPath (Join-Path -Path $folder -ChildPath 'qwc/alice/codat-quickbooks.qwc') -Raw | Should -BeLike '*<QBWCXML>*'
            @($machine.RegCalls) | Should -Be @(
                ('export HKEY_USERS\{0}\Software\Intuit\QB web connector {1} /y' -f $alice.Sid, (Join-Path -Path $folder -ChildPath ('registry\01-QB-web-connector-{0}.reg' -f $alice.Sid))),
                ('export HKEY_USERS\{0}\Software\Intuit\QBWebConnector {1} /y' -f $alice.Sid, (Join-Path -Path $folder -ChildPath ('registry\02-QBWebConnector-{0}.reg' -f $alice.Sid)))
            )
            $exported = @($run.Result.data.backup.files | Where-Object { ([string]$_.source).StartsWith('HKEY_USERS\') })
            $exported | Should -HaveCount 2
            foreach ($file in $exported) { Test-Path -LiteralPath $file.backup -PathType Leaf | Should -BeTrue }
            # The whole export: the encrypted password too, which only the backup holds.
            Get-Content -LiteralPath $exported[0].backup -Raw | Should -BeLike ('*{0}*' -f $encrypted)
            $run.Json | Should -Not -BeLike ('*{0}*' -f $encrypted)
            $summary = Get-TestAclSummary -Acl $global:FakeMachine['Acls'][$folder]
            $summary.Protected | Should -BeTrue
            ($summary.Sids | Sort-Object) -join ',' | Should -Be 'S-1-5-18,S-1-5-32-544'
            Should -Invoke -CommandName Stop-Process -Times 1 -Exactly
            Should -Invoke -CommandName Start-Process -Times 1 -Exactly -ParameterFilter { $PesterBoundParameters['ArgumentList'] -eq '/x {B0B1C9A6-9D17-4C71-9AB3-5E1E3A8F0C21} /qn /norestart' }
            (Get-ResultCheck -Result $run.Result -Name 'uninstalled')[0].passed | Should -BeTrue
            (Get-ResultCheck -Result $run.Result -Name 'web-connector-folder-removed')[0].passed | Should -BeTrue
            Test-Path -LiteralPath (Join-Path -Path $folder -ChildPath 'QBWebConnector/QBWebConnector.exe') -PathType Leaf | Should -BeTrue
            Should -Invoke -CommandName New-ScheduledTaskPrincipal -Times 1 -Exactly -ParameterFilter { [string]$PesterBoundParameters['RunLevel'] -eq 'Highest' }
            (Get-ResultCheck -Result $run.Result -Name 'connector-installed')[0].passed | Should -BeTrue
            $kept = (Get-ResultCheck -Result $run.Result -Name 'company-id-kept')[0]
            $kept.passed | Should -BeFalse
            $kept.evidence | Should -BeLike 'Not checked*'
            (Get-ResultMessage -Result $run.Result -Text ('SAME Company ID: {0}' -f $companyId)) | Should -HaveCount 1
            $link = @(Get-ResultMessage -Result $run.Result -Text 'To link the Web Connector again')
            $link | Should -HaveCount 1
            foreach ($part in @($qwc, '"Yes, always; allow access even if QuickBooks is not running"', 'tick the new row', 'password copied from Codat''s link page', 'Update Selected')) {
                $link[0] | Should -BeLike ('*{0}*' -f [WildcardPattern]::Escape($part))
            }
            $run.Steps | Should -Be @(
                'Planning: reading the connector, its Company ID, the installer and who can run it',
                'Copying the installer into qbd-fix''s own folder',
                'Checking the installer''s signature',
                'Backing up the .qwc files, the Web Connector''s settings and its log',
                'Stopping the connector',
                'Uninstalling the connector (1 Apps & features entry(ies), up to 600 s each)',
                'Moving the Web Connector folder into the backup',
                'Starting the installer on the user''s desktop',
                'Waiting for the installer (up to 600 s)'
            )
        }

        It 'makes a backup of its own on a second run and leaves the first as it was' {
            $first = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters $webReady
            $first.Result.status | Should -Be 'needs_user_action' -Because $first.Json
            $firstFolder = [string]$first.Result.data.backup.folder
            $firstTree = Get-FakeTree -Root $firstFolder

            $second = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters $webReady

            $second.Result.status | Should -Be 'needs_user_action' -Because $second.Json
            $secondFolder = [string]$second.Result.data.backup.folder
            $secondFolder | Should -Not -Be $firstFolder
            (Get-FakeTree -Root $firstFolder) -join [Environment]::NewLine | Should -Be ($firstTree -join [Environment]::NewLine)
            foreach ($part in @('qwc/alice/codat-quickbooks.qwc', 'QBWebConnector/QBWebConnector.exe', 'company-id.txt', 'backup-manifest.json')) {
                Test-Path -LiteralPath (Join-Path -Path $secondFolder -ChildPath $part) -PathType Leaf | Should -BeTrue -Because $part
            }
            @(Get-ChildItem -LiteralPath (Join-Path -Path $secondFolder -ChildPath 'registry') -Filter '*.reg') | Should -HaveCount 2
            (Get-ResultCheck -Result $second.Result -Name 'connector-installed')[0].passed | Should -BeTrue
            Test-Path -LiteralPath $webProgram -PathType Leaf | Should -BeTrue
        }

        It 'installs the Web Connector on a run after one that stopped once it was removed, backing up what is left' {
            # As after a first run that moved the folder into its backup and then stopped.
            Remove-Item -LiteralPath $webFolder -Recurse -Force
            $null = $machine.Registry.Remove((ConvertTo-FakeRegistryKey -Path $machine.UninstallKey).ToLowerInvariant())
            $machine.Processes.Clear()
            $null = Add-FakeProcess -Machine $machine -Name 'explorer.exe' -ExecutablePath 'C:\Windows\explorer.exe' -User 'alice' -Sid $alice.Sid

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters $webReady

            $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
            $run.Result.data.connector.generation | Should -Be 'web-connector'
            $run.Result.data.connector.path | Should -Be $webFolder
            (Get-ResultMessage -Result $run.Result -Text 'the installer is the Web Connector''s (QuickBooksDesktopConnector.exe)') | Should -HaveCount 1
            @($run.Result.data.uninstall) | Should -HaveCount 0
            @(Get-ResultAction -Result $run.Result -Text 'Move the Web Connector folder') | Should -HaveCount 0
            $folder = [string]$run.Result.data.backup.folder
            Test-Path -LiteralPath (Join-Path -Path $folder -ChildPath 'qwc/alice/codat-quickbooks.qwc') -PathType Leaf | Should -BeTrue
            @($machine.RegCalls) | Should -HaveCount 2
            Should -Invoke -CommandName Start-Process -Times 0 -Exactly
            (Get-ResultCheck -Result $run.Result -Name 'connector-installed')[0].passed | Should -BeTrue
            (Get-ResultCheck -Result $run.Result -Name 'company-id-readable')[0].passed | Should -BeFalse
            (Get-ResultMessage -Result $run.Result -Text 'To link the Web Connector again') | Should -HaveCount 1
        }

        It 'refuses without -CompanyId or -Force, saying the Company ID cannot be read here, and changes nothing' {
            $parameters = $webReady.Clone()
            $parameters.Remove('CompanyId')

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters $parameters

            $run.Result.status | Should -Be 'failed' -Because $run.Json
            (Get-ResultCheck -Result $run.Result -Name 'company-id-readable')[0].passed | Should -BeFalse
            (Get-ResultMessage -Result $run.Result -Text 'on which the Company ID cannot be read') | Should -HaveCount 1
            (Get-ResultMessage -Result $run.Result -Text 'No Company ID found and none given') | Should -HaveCount 1
            @($run.Result.actions) | Should -HaveCount 0
            @($machine.RegCalls) | Should -HaveCount 0
            Test-Path -LiteralPath $backups | Should -BeFalse
            Test-Path -LiteralPath $webProgram -PathType Leaf | Should -BeTrue
        }

        It 'needs the Codat-side switch and the removed grant first, naming the Web Connector''s entry' {
            $null = Add-FakeUninstallEntry -Machine $machine -KeyName '{8F6D2E4A-1B3C-4D5E-9F70-A1B2C3D4E5F6}' -Values @{
                DisplayName = 'QuickBooks Desktop Pro 2024'; DisplayVersion = '34.0.4006.3405'; Publisher = 'Intuit Inc.'; InstallLocation = 'C:\Program Files\Intuit\QuickBooks 2024\'
            }

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = ''; Installer = $webInstaller; CompanyId = $companyId }

            $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
            (Get-ResultCheck -Result $run.Result -Name 'codat-side-done')[0].passed | Should -BeFalse
            (Get-ResultCheck -Result $run.Result -Name 'grant-removed')[0].passed | Should -BeFalse
            (Get-ResultMessage -Result $run.Result -Text 'the entry may carry the Web Connector''s or the Codat connection''s name') | Should -HaveCount 1
            @($run.Result.actions) | Should -HaveCount 0
            Should -Invoke -CommandName Start-Process -Times 0 -Exactly
            Test-Path -LiteralPath $webProgram -PathType Leaf | Should -BeTrue
        }

        It 'uninstalls nothing when the installer is not signed' {
            Mock -CommandName Get-AuthenticodeSignature -MockWith { New-TestSignature -Status 'NotSigned' -Subject '' }

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters $webReady

            $run.Result.status | Should -Be 'failed' -Because $run.Json
            (Get-ResultCheck -Result $run.Result -Name 'installer-trusted')[0].passed | Should -BeFalse
            @($run.Result.actions) | Should -HaveCount 0
            @($machine.RegCalls) | Should -HaveCount 0
            Should -Invoke -CommandName Start-Process -Times 0 -Exactly
            Test-Path -LiteralPath $webProgram -PathType Leaf | Should -BeTrue
        }

        It 'uninstalls nothing when a registry key cannot be exported' {
            $machine.RegExportFails = $true

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters $webReady

            $run.Result.status | Should -Be 'failed' -Because $run.Json
            $check = (Get-ResultCheck -Result $run.Result -Name 'backup-verified')[0]
            $check.passed | Should -BeFalse
            $check.evidence | Should -BeLike '*reg.exe could not export*'
            (Get-ResultMessage -Result $run.Result -Text 'The connector was not uninstalled') | Should -HaveCount 1
            Should -Invoke -CommandName Start-Process -Times 0 -Exactly
            Should -Invoke -CommandName Stop-Process -Times 0 -Exactly
            Test-Path -LiteralPath $webProgram -PathType Leaf | Should -BeTrue
        }

        It 'never removes an entry that only says Web Connector' {
            $null = Add-FakeUninstallEntry -Machine $machine -KeyName 'Other Web Connector' -Values @{
                DisplayName          = 'QuickBooks Web Connector Toolkit'
                Publisher            = 'Example Software'
                InstallLocation      = 'C:\Program Files\Example\Toolkit'
                QuietUninstallString = '"C:\Program Files\Example\Toolkit\remove.exe" /S'
            }

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters ($webReady + @{ WhatIf = $true })

            $run.Result.status | Should -Be 'ok' -Because $run.Json
            @($run.Result.data.uninstall | ForEach-Object { $_.name }) | Should -Be @('Web Connector')
            $kept = @($run.Result.data.not_removed)
            $kept | Should -HaveCount 1
            $kept[0].name | Should -Be 'QuickBooks Web Connector Toolkit'
            $kept[0].matched_by | Should -Be 'name'
            (Get-ResultMessage -Result $run.Result -Text 'its name says Web Connector, but its folder is not') | Should -HaveCount 1
        }
    }
}
