# reset-certificate on a fake PC: evidence for the QuickBooks Application Certificate re-grant.

BeforeAll {
    . (Join-Path -Path $PSScriptRoot -ChildPath 'Helpers.ps1')
    $script:Path = Join-Path -Path $PSScriptRoot -ChildPath 'out/reset-certificate.ps1'
    . (Join-Path -Path $PSScriptRoot -ChildPath 'InstallerFakes.ps1')
    . (Join-Path -Path $PSScriptRoot -ChildPath 'WebConnectorFilesFakes.ps1')
    # Processes' elevation (QbdFix.ProcessToken's stand-in) and Add-QuickBooksProcess.
    . (Join-Path -Path $PSScriptRoot -ChildPath 'WebConnectorFakes.ps1')
    Set-FakeMachineMock
    Set-InstallerFakeMock
}

Describe 'reset-certificate' {
    AfterEach {
        Restore-FakeMachine
    }

    Context 'QuickBooks installed and refusing the connector (0x8004041D)' {
        BeforeEach {
            $machine = New-FakeMachine -Root (New-FakeRoot -Base $TestDrive)
            Add-FakeSystemProfile -Machine $machine
            $alice = Add-FakeUser -Machine $machine -UserName 'alice' -LoggedOn
            $null = Add-FakeLegacyConnector -Machine $machine -ClientName 'Acme Books' -LinkJson '{"companyId":"6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b"}'
            $null = Add-FakeUninstallEntry -Machine $machine -KeyName '{8F6D2E4A-1B3C-4D5E-9F70-A1B2C3D4E5F6}' -Values @{
                DisplayName     = 'QuickBooks Desktop Pro 2024'
                DisplayVersion  = '34.0.4006.3405'
                Publisher       = 'Intuit Inc.'
                InstallLocation = 'C:\Program Files\Intuit\QuickBooks 2024\'
            }
            $null = Add-FakeRegistryKey -Machine $machine -Path 'HKLM:\SOFTWARE\Intuit\QuickBooks\34.0'
            $null = Add-FakeProcess -Machine $machine -Name 'QBW32.exe' -ExecutablePath 'C:\Program Files\Intuit\QuickBooks 2024\QBW32.exe' -User 'alice'
            $installer = Write-FakeProgram -Path (Join-Path -Path $alice.Profile -ChildPath 'Downloads\Acme Books-quickbooksdesktop-connector.exe')
            $sdkLog = @(
                '====== QBSDK session started ======',
                '20240501.190001  I  4321  RequestProcessor  Connection opened by app named ''QuickBooks Connector''',
                '20240501.190002  E  4321  RequestProcessor  Application not allowed to log in automatically. Error = 0x8004041D',
                '20240501.190003  I  4321  RequestProcessor  Connection closed by app named ''QuickBooks Connector'''
            ) -join [Environment]::NewLine
            $null = Write-FakeFile -Path (Join-Path -Path $machine.ProgramData -ChildPath 'Intuit\QuickBooks\qbsdklog.txt') -Text $sdkLog
            Set-TestAdministrator -Machine $machine -Account 'PC\alice'
        }

        It 'needs a person, names the SDK code and gives the Yes, always step' {
            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = 'Acme Books' }

            $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
            $run.ExitCode | Should -Be 3
            (Get-ResultCheck -Result $run.Result -Name 'connector-present')[0].passed | Should -BeTrue
            (Get-ResultCheck -Result $run.Result -Name 'quickbooks-installed')[0].passed | Should -BeTrue
            (Get-ResultCheck -Result $run.Result -Name 'quickbooks-running')[0].passed | Should -BeTrue
            (Get-ResultCheck -Result $run.Result -Name 'installer-found')[0].passed | Should -BeTrue
            $sdkCheck = (Get-ResultCheck -Result $run.Result -Name 'sdk-certificate-errors')[0]
            $sdkCheck.passed | Should -BeFalse
            $sdkCheck.evidence | Should -BeLike '*0x8004041D*'
            $run.Result.data.sdk_log.present | Should -BeTrue
            $run.Result.data.sdk_log.codes.'0x8004041D'.count | Should -Be 1
            (Get-ResultMessage -Result $run.Result -Text 'qbsdklog.txt: 0x8004041D seen 1 time(s)') | Should -HaveCount 1
            (Get-ResultMessage -Result $run.Result -Text 'Yes, always; allow access even if QuickBooks is not running') | Should -Not -BeNullOrEmpty
            (Get-ResultMessage -Result $run.Result -Text 'QuickBooks is open (QBW32.exe, user PC\alice)') | Should -HaveCount 1
            (Get-ResultMessage -Result $run.Result -Text $installer) | Should -HaveCount 1
            @($run.Result.data.steps) | Should -HaveCount 5
            $run.Result.data.installers[0].matches_client | Should -BeTrue
            @($run.Result.actions) | Should -HaveCount 0
            Should -Invoke -CommandName Register-ScheduledTask -Times 0 -Exactly
        }

        It 'starts no installer under -WhatIf -LaunchInstaller -GrantRemoved' {
            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = 'Acme Books'; LaunchInstaller = $true; GrantRemoved = $true; WhatIf = $true }

            $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
            $launch = @(Get-ResultAction -Result $run.Result -Text 'Start the connector installer')
            $launch | Should -HaveCount 1
            $launch[0].performed | Should -BeFalse
            $run.Result.data.launched_installer.performed | Should -BeFalse
            (Get-ResultMessage -Result $run.Result -Text 'WhatIf: nothing was changed') | Should -HaveCount 1
            Should -Invoke -CommandName Register-ScheduledTask -Times 0 -Exactly
            Should -Invoke -CommandName Start-ScheduledTask -Times 0 -Exactly
        }

        It 'starts the signed installer elevated on the administrator''s desktop once the grant is removed' {
            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = 'Acme Books'; LaunchInstaller = $true; GrantRemoved = $true }

            # The grant itself stays a person's step in QuickBooks.
            $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
            $run.ExitCode | Should -Be 3
            $run.Result.data.launched_installer.started | Should -BeTrue
            $run.Result.data.launched_installer.user | Should -Be 'PC\alice'
            $run.Result.data.launched_installer.trust.signer | Should -Be 'Codat Limited'
            $run.Result.data.launched_installer.run.run_level | Should -Be 'Highest'
            (Get-ResultCheck -Result $run.Result -Name 'installer-trusted')[0].passed | Should -BeTrue
            (Get-ResultAction -Result $run.Result -Text 'Start the connector installer')[0].performed | Should -BeTrue
            Should -Invoke -CommandName New-ScheduledTaskPrincipal -Times 1 -Exactly -ParameterFilter { [string]$PesterBoundParameters['RunLevel'] -eq 'Highest' }
            Should -Invoke -CommandName New-ScheduledTaskAction -Times 1 -Exactly -ParameterFilter { $PesterBoundParameters['Execute'] -eq $installer }
            Should -Invoke -CommandName Register-ScheduledTask -Times 1 -Exactly
        }

        It 'does not start the installer while QuickBooks may still hold the old grant' {
            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = 'Acme Books'; LaunchInstaller = $true }

            $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
            $run.Result.data.launched_installer.grant.state | Should -Be 'unconfirmed'
            $run.Result.data.launched_installer.performed | Should -BeFalse
            (Get-ResultMessage -Result $run.Result -Text 'run again with -LaunchInstaller -GrantRemoved') | Should -HaveCount 1
            @($run.Result.actions) | Should -HaveCount 0
            Should -Invoke -CommandName Register-ScheduledTask -Times 0 -Exactly
            Should -Invoke -CommandName Get-AuthenticodeSignature -Times 0 -Exactly
        }

        It 'does not start an unsigned installer' {
            Mock -CommandName Get-AuthenticodeSignature -MockWith { New-TestSignature -Status 'NotSigned' -Subject '' }

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = 'Acme Books'; LaunchInstaller = $true; GrantRemoved = $true }

            $run.Result.status | Should -Be 'failed' -Because $run.Json
            $run.Result.data.launched_installer.trust.signature_status | Should -Be 'NotSigned'
            (Get-ResultCheck -Result $run.Result -Name 'installer-trusted')[0].passed | Should -BeFalse
            (Get-ResultMessage -Result $run.Result -Text 'is not trusted, because its Authenticode signature is not valid') | Should -HaveCount 1
            @($run.Result.actions) | Should -HaveCount 0
            Should -Invoke -CommandName Register-ScheduledTask -Times 0 -Exactly
        }

        It 'does not start an installer signed by someone else' {
            Mock -CommandName Get-AuthenticodeSignature -MockWith { New-TestSignature -Subject 'CN=Example Tools Ltd, O=Example Tools Ltd, C=GB' }

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = 'Acme Books'; LaunchInstaller = $true; GrantRemoved = $true }

            $run.Result.status | Should -Be 'failed' -Because $run.Json
            $run.Result.data.launched_installer.trust.signer | Should -Be 'Example Tools Ltd'
            @($run.Result.actions) | Should -HaveCount 0
            Should -Invoke -CommandName Register-ScheduledTask -Times 0 -Exactly
        }

        It 'does not start an installer whose SHA-256 differs from -InstallerSha256' {
            $wrong = 'cd' * 32

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = 'Acme Books'; LaunchInstaller = $true; GrantRemoved = $true; InstallerSha256 = $wrong }

            $run.Result.status | Should -Be 'failed' -Because $run.Json
            $run.Result.data.launched_installer.trust.trusted | Should -BeFalse
            (Get-ResultMessage -Result $run.Result -Text ('not {0} as given in -InstallerSha256' -f $wrong)) | Should -HaveCount 1
            Should -Invoke -CommandName Register-ScheduledTask -Times 0 -Exactly
        }

        It 'does not start the installer for a user who is not an administrator' {
            Set-TestAdministrator -Machine $machine -Account @()

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = 'Acme Books'; LaunchInstaller = $true; GrantRemoved = $true }

            $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
            $run.Result.data.launched_installer.run.mode | Should -BeNullOrEmpty
            (Get-ResultMessage -Result $run.Result -Text 'PC\alice is not an administrator') | Should -HaveCount 1
            @($run.Result.actions) | Should -HaveCount 0
            Should -Invoke -CommandName Register-ScheduledTask -Times 0 -Exactly
        }

        It 'fails, and records no start, when the installer task does not start (0x800702E4)' {
            Set-TestOneShotResult -Machine $machine -Result ([uint32]2147943140)

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = 'Acme Books'; LaunchInstaller = $true; GrantRemoved = $true }

            $run.Result.status | Should -Be 'failed' -Because $run.Json
            $run.Result.data.launched_installer.performed | Should -BeFalse
            $run.Result.data.launched_installer.started | Should -BeFalse
            $start = @(Get-ResultAction -Result $run.Result -Text 'Start the connector installer')
            $start | Should -HaveCount 1
            $start[0].performed | Should -BeFalse
            (Get-ResultMessage -Result $run.Result -Text '0x800702E4') | Should -HaveCount 1
        }
    }

    Context 'the installer''s one-shot task on the user''s desktop ends with a Task Scheduler result' {
        # Start-QbdInUserSession registers a one-shot task and waits for LastTaskResult to leave
        # 0x41303 (has not run). Only 0 or 0x41301 (running) mean the installer ran; 0x800702E4
        # (it needs elevation, which a task never prompts for), 0x800710E0 (refused: the user is
        # not logged on) and 0x80070002 (file not found) mean it did not.
        BeforeEach {
            $machine = New-FakeMachine -Root (New-FakeRoot -Base $TestDrive)
            Add-FakeSystemProfile -Machine $machine
            $alice = Add-FakeUser -Machine $machine -UserName 'alice' -LoggedOn
            $null = Add-FakeLegacyConnector -Machine $machine -ClientName 'Acme Books' -LinkJson '{"companyId":"6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b"}'
            $null = Write-FakeProgram -Path (Join-Path -Path $alice.Profile -ChildPath 'Downloads\Acme Books-quickbooksdesktop-connector.exe')
            Set-TestAdministrator -Machine $machine -Account 'PC\alice'
        }

        It 'reports started = <Started> and <Status> when the task ends with <Code>' -ForEach @(
            @{ Code = '0x41301'; Result = [uint32]267009; Started = $true; Status = 'needs_user_action' },
            @{ Code = '0x00000000'; Result = [uint32]0; Started = $true; Status = 'needs_user_action' },
            @{ Code = '0x00041303'; Result = [uint32]267011; Started = $false; Status = 'failed' },
            @{ Code = '0x800702E4'; Result = [uint32]2147943140; Started = $false; Status = 'failed' },
            @{ Code = '0x800710E0'; Result = [uint32]2147946720; Started = $false; Status = 'failed' },
            @{ Code = '0x80070002'; Result = [uint32]2147942402; Started = $false; Status = 'failed' }
        ) {
            Set-TestOneShotResult -Machine $machine -Result $Result

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = 'Acme Books'; LaunchInstaller = $true; GrantRemoved = $true }

            Should -Invoke -CommandName Start-ScheduledTask -Times 1 -Exactly
            Should -Invoke -CommandName Unregister-ScheduledTask -Times 1 -Exactly
            @($machine.Tasks | Where-Object { $_.TaskName -like 'qbd-fix-*' }) | Should -HaveCount 0
            $run.Result.data.launched_installer.started | Should -Be $Started -Because $run.Json
            $run.Result.status | Should -Be $Status -Because $run.Json
            $start = @(Get-ResultAction -Result $run.Result -Text 'Start the connector installer')
            $start | Should -HaveCount 1
            $start[0].performed | Should -Be $Started
            if (-not $Started) {
                (Get-ResultMessage -Result $run.Result -Text ('Could not start the installer for PC\alice: the installer did not start on PC\alice''s desktop (task result {0}' -f $Code)) | Should -HaveCount 1
            }
        }
    }

    Context 'nothing installed' {
        BeforeEach {
            $machine = New-FakeMachine -Root (New-FakeRoot -Base $TestDrive)
            Add-FakeSystemProfile -Machine $machine
        }

        It 'says the connector and QuickBooks are missing and still gives the steps' {
            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ ClientName = 'Acme Books' }

            $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
            $run.ExitCode | Should -Be 3
            (Get-ResultCheck -Result $run.Result -Name 'connector-present')[0].passed | Should -BeFalse
            (Get-ResultCheck -Result $run.Result -Name 'quickbooks-installed')[0].passed | Should -BeFalse
            (Get-ResultCheck -Result $run.Result -Name 'quickbooks-running')[0].passed | Should -BeFalse
            (Get-ResultCheck -Result $run.Result -Name 'installer-found')[0].passed | Should -BeFalse
            (Get-ResultCheck -Result $run.Result -Name 'sdk-certificate-errors')[0].passed | Should -BeTrue
            $run.Result.data.sdk_log.present | Should -BeFalse
            (Get-ResultMessage -Result $run.Result -Text 'The connector is not installed on this PC') | Should -HaveCount 1
            (Get-ResultMessage -Result $run.Result -Text 'QuickBooks Desktop was not found') | Should -HaveCount 1
            @($run.Result.data.steps) | Should -HaveCount 5
            @($run.Result.actions) | Should -HaveCount 0
        }
    }

    Context 'the Web Connector generation' {
        BeforeEach {
            $machine = New-FakeMachine -Root (New-FakeRoot -Base $TestDrive)
            Add-FakeSystemProfile -Machine $machine
            $alice = Add-FakeUser -Machine $machine -UserName 'alice' -LoggedOn
            $null = Add-FakeUninstallEntry -Machine $machine -KeyName '{8F6D2E4A-1B3C-4D5E-9F70-A1B2C3D4E5F6}' -Values @{
                DisplayName     = 'QuickBooks Desktop Pro 2024'
                DisplayVersion  = '34.0.4006.3405'
                Publisher       = 'Intuit Inc.'
                InstallLocation = 'C:\Program Files\Intuit\QuickBooks 2024\'
            }
            $webConnectorFolder = Add-FakeWebConnector -Machine $machine
            $qbwc = Join-Path -Path $webConnectorFolder -ChildPath 'QBWebConnector.exe'
            $installer = Write-FakeProgram -Path (Join-Path -Path $alice.Profile -ChildPath 'Downloads\QuickBooksDesktopConnector.exe')
            $qwc = Write-FakeQwcFile -User $alice -Name 'codat-acme.qwc' -Text (Get-FakeQwcText -AppName 'Codat - Acme Books') -MinutesOld 5
            Set-TestAdministrator -Machine $machine -Account 'PC\alice'
            [QbdFix.ProcessToken]::Elevated.Clear()
        }

        It 'names the Web Connector application by the .qwc file''s AppName and gives its six steps' {
            $run = Invoke-RenderedScript -ScriptPath $script:Path

            $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
            $check = (Get-ResultCheck -Result $run.Result -Name 'qwc-found')[0]
            $check.passed | Should -BeTrue
            $check.evidence | Should -BeLike ('*{0} (alice; AppName ''Codat - Acme Books''; AppURL https)*' -f $qwc)
            @($run.Result.data.qwc_files) | Should -HaveCount 1
            $run.Result.data.qwc_files[0].app_url | Should -Be 'https://quickbooksdesktop.codat.io/qbwc'
            $steps = @($run.Result.data.steps)
            $steps | Should -HaveCount 6
            $steps[2] | Should -Be 'Step 3: Select the Web Connector application named ''Codat - Acme Books'' (the AppName in the Codat .qwc file) and click Remove, then OK.'
            $steps[3] | Should -BeLike ('Step 4: Open the Codat .qwc file {0} (in alice''s Downloads; double-click it)*first run the connector installer {1}*' -f $qwc, $installer)
            $steps[4] | Should -BeLike '*Yes, always; allow access even if QuickBooks is not running*'
            $steps[5] | Should -BeLike 'Step 6: In the Web Connector, enter the password from Codat''s link page*Auto-Run*Update Selected.'
            (Get-ResultMessage -Result $run.Result -Text 'older connector generation') | Should -HaveCount 0
            @($run.Result.actions) | Should -HaveCount 0
        }

        It 'opens the user''s own newest .qwc file with the Web Connector on their desktop, not the installer' {
            $bob = Add-FakeUser -Machine $machine -UserName 'bob' -LoggedOn
            # The same connection downloaded again, and another vendor's newer file: the newest Codat one is opened.
            $older = Write-FakeQwcFile -User $alice -Name 'codat-acme (1).qwc' -Text (Get-FakeQwcText -AppName 'Codat - Acme Books') -MinutesOld 60
            $other = Write-FakeQwcFile -User $alice -Name 'payroll.qwc' -Text (Get-FakeQwcText -AppName 'Payroll Sync' -AppUrl 'https://sync.payroll.example/qbwc') -MinutesOld 1
            $bobQwc = Write-FakeQwcFile -User $bob -Name 'codat-bob.qwc' -Text (Get-FakeQwcText -AppName 'Codat - Bob Ltd') -MinutesOld 1

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ LaunchInstaller = $true; GrantRemoved = $true }

            $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
            @($run.Result.data.qwc_files) | Should -HaveCount 4
            $run.Result.data.steps[2] | Should -BeLike '*one of*''Codat - Bob Ltd''*''Codat - Acme Books''*'
            $run.Result.data.steps[2] | Should -Not -BeLike '*Payroll Sync*'
            $run.Result.data.launched_qwc.run_level.level | Should -Be 'Limited'
            $run.Result.data.launched_qwc.path | Should -Be $qwc
            $run.Result.data.launched_qwc.user | Should -Be 'PC\alice'
            $run.Result.data.launched_qwc.app_name | Should -Be 'Codat - Acme Books'
            $run.Result.data.launched_qwc.started | Should -BeTrue
            $run.Result.data.launched_qwc.trust.signer | Should -Be 'Codat Limited'
            $run.Result.data.PSObject.Properties['launched_installer'] | Should -BeNullOrEmpty
            (Get-ResultCheck -Result $run.Result -Name 'qwc-valid')[0].passed | Should -BeTrue
            (Get-ResultCheck -Result $run.Result -Name 'web-connector-trusted')[0].passed | Should -BeTrue
            $open = @(Get-ResultAction -Result $run.Result -Text 'Open the Web Connector file (.qwc)')
            $open | Should -HaveCount 1
            $open[0].performed | Should -BeTrue
            @(Get-ResultAction -Result $run.Result -Text 'Start the connector installer') | Should -HaveCount 0
            Should -Invoke -CommandName New-ScheduledTaskAction -Times 1 -Exactly
            Should -Invoke -CommandName New-ScheduledTaskAction -Times 1 -Exactly -ParameterFilter { $PesterBoundParameters['Execute'] -eq $qbwc -and $PesterBoundParameters['Argument'] -eq ('"{0}"' -f $qwc) }
            Should -Invoke -CommandName New-ScheduledTaskPrincipal -Times 1 -Exactly -ParameterFilter { [string]$PesterBoundParameters['RunLevel'] -eq 'Limited' -and [string]$PesterBoundParameters['UserId'] -eq $alice.Sid }
            Should -Invoke -CommandName Get-AuthenticodeSignature -Times 1 -Exactly -ParameterFilter { $PesterBoundParameters['LiteralPath'] -eq $qbwc }
            Should -Invoke -CommandName Get-AuthenticodeSignature -Times 0 -Exactly -ParameterFilter { $PesterBoundParameters['LiteralPath'] -eq $installer }
            (Get-ResultMessage -Result $run.Result -Text ('Opened {0} in the Web Connector on the desktop of PC\alice' -f $qwc)) | Should -HaveCount 1
            $null = $older, $other, $bobQwc
        }

        It 'opens nothing when the user''s Codat .qwc files are of different connections (<Case>), and lists them' -TestCases @(
            @{ Case = 'another AppName'; AppName = 'Codat - Other Company'; FileId = '{90A44FB5-33D9-4815-AC85-BC87A7E7D1EB}' },
            @{ Case = 'another FileID'; AppName = 'Codat - Acme Books'; FileId = '{11111111-2222-4333-8444-555555555555}' }
        ) {
            param($Case, $AppName, $FileId)
            $second = Write-FakeQwcFile -User $alice -Name 'codat-second.qwc' -Text (Get-FakeQwcText -AppName $AppName -FileId $FileId) -MinutesOld 1

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ LaunchInstaller = $true; GrantRemoved = $true }

            $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
            $run.Result.data.launched_qwc.refused | Should -Be 'several_connections'
            (@($run.Result.data.launched_qwc.candidates | ForEach-Object { $_.path }) -join '|') | Should -Be ((@($second, $qwc)) -join '|')
            $run.Result.data.launched_qwc.started | Should -BeFalse
            (Get-ResultCheck -Result $run.Result -Name 'qwc-unambiguous')[0].passed | Should -BeFalse
            $message = @(Get-ResultMessage -Result $run.Result -Text 'No .qwc file was opened: the Downloads of PC\alice hold Codat .qwc files of 2 different connections')
            $message | Should -HaveCount 1
            $message[0] | Should -BeLike ('*{0}*{1}*' -f $second, $qwc)
            $run.Result.data.PSObject.Properties['launched_installer'] | Should -BeNullOrEmpty
            @($run.Result.actions) | Should -HaveCount 0
            Should -Invoke -CommandName Register-ScheduledTask -Times 0 -Exactly
            Should -Invoke -CommandName Get-AuthenticodeSignature -Times 0 -Exactly
        }

        It 'never opens a .qwc file whose AppURL host is not under codat.io (<Url>)' -TestCases @(
            @{ Url = 'https://sync.payroll.example/qbwc' },
            @{ Url = 'https://evilcodat.io/qbwc' },
            @{ Url = 'https://quickbooksdesktop.codat.io.evil.example/qbwc' },
            @{ Url = 'https://quickbooksdesktop.codat.io@evil.example/qbwc' },
            @{ Url = 'https://codat.io/qbwc' }
        ) {
            param($Url)
            $null = Write-FakeQwcFile -User $alice -Name 'codat-acme.qwc' -Text (Get-FakeQwcText -AppUrl $Url) -MinutesOld 5

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ LaunchInstaller = $true; GrantRemoved = $true }

            $run.Result.status | Should -Be 'failed' -Because $run.Json
            $run.Result.data.launched_qwc.refused | Should -Be 'not_codat'
            (Get-ResultCheck -Result $run.Result -Name 'qwc-valid')[0].passed | Should -BeFalse
            (Get-ResultMessage -Result $run.Result -Text 'is not on a host under codat.io') | Should -HaveCount 1
            $run.Result.data.steps[2] | Should -BeLike '*no readable .qwc file was found*'
            @($run.Result.actions) | Should -HaveCount 0
            Should -Invoke -CommandName Register-ScheduledTask -Times 0 -Exactly
        }

        It 'accepts the Codat host in any letter case' {
            $null = Write-FakeQwcFile -User $alice -Name 'codat-acme.qwc' -Text (Get-FakeQwcText -AppName 'Codat - Acme Books' -AppUrl 'https://QuickBooksDesktop.CODAT.IO/qbwc') -MinutesOld 5

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ LaunchInstaller = $true; GrantRemoved = $true }

            $run.Result.data.launched_qwc.started | Should -BeTrue -Because $run.Json
        }

        It 'opens the .qwc file elevated when the administrator''s QuickBooks runs elevated' {
            $null = Add-QuickBooksProcess -Machine $machine -User 'alice' -Elevated

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ LaunchInstaller = $true; GrantRemoved = $true }

            $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
            $run.Result.data.launched_qwc.started | Should -BeTrue
            $run.Result.data.launched_qwc.run_level.level | Should -Be 'Highest'
            $run.Result.data.launched_qwc.run_level.quickbooks | Should -Be 'elevated'
            Should -Invoke -CommandName New-ScheduledTaskPrincipal -Times 1 -Exactly -ParameterFilter { [string]$PesterBoundParameters['RunLevel'] -eq 'Highest' -and [string]$PesterBoundParameters['UserId'] -eq $alice.Sid }
            (Get-ResultAction -Result $run.Result -Text 'run level Highest')[0].performed | Should -BeTrue
        }

        It 'opens the .qwc file without elevation when QuickBooks runs without it' {
            $null = Add-QuickBooksProcess -Machine $machine -User 'alice'

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ LaunchInstaller = $true; GrantRemoved = $true }

            $run.Result.data.launched_qwc.run_level.level | Should -Be 'Limited' -Because $run.Json
            Should -Invoke -CommandName New-ScheduledTaskPrincipal -Times 1 -Exactly -ParameterFilter { [string]$PesterBoundParameters['RunLevel'] -eq 'Limited' }
        }

        It 'opens nothing when <Case>, and tells the person to open it themselves' -TestCases @(
            @{ Case = 'QuickBooks'' elevation cannot be read'; Setup = 'unreadable'; Text = 'whether it runs elevated could not be read' },
            @{ Case = 'QuickBooks runs elevated for a user not known to be an administrator'; Setup = 'not-admin'; Text = 'who is not known to be a local administrator' },
            @{ Case = 'the user''s Web Connector already runs at another elevation'; Setup = 'web-connector-limited'; Text = 'the Web Connector already runs for PC\alice' },
            @{ Case = 'the running Web Connector''s elevation cannot be read'; Setup = 'web-connector-unreadable'; Text = 'at an elevation that could not be read' }
        ) {
            param($Case, $Setup, $Text)
            $books = Add-QuickBooksProcess -Machine $machine -User 'alice' -Elevated
            switch ($Setup) {
                'unreadable' { Set-FakeProcessElevation -ProcessId ([int]$books.ProcessId) -Elevated $null }
                'not-admin' { Set-TestAdministrator -Machine $machine -Account @() }
                'web-connector-limited' { $null = Add-WebConnectorProcess -Machine $machine -User 'alice' }
                'web-connector-unreadable' {
                    $web = Add-WebConnectorProcess -Machine $machine -User 'alice'
                    Set-FakeProcessElevation -ProcessId ([int]$web.ProcessId) -Elevated $null
                }
            }

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ LaunchInstaller = $true; GrantRemoved = $true }

            $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
            $run.Result.data.launched_qwc.started | Should -BeFalse
            $run.Result.data.launched_qwc.run_level.level | Should -Be ''
            $message = @(Get-ResultMessage -Result $run.Result -Text ('The .qwc file {0} was not opened' -f $qwc))
            $message | Should -HaveCount 1
            $message[0] | Should -BeLike ('*{0}*Ask PC\alice to open it themselves*' -f $Text)
            @($run.Result.actions) | Should -HaveCount 0
            Should -Invoke -CommandName Register-ScheduledTask -Times 0 -Exactly
            $run.Result.data.PSObject.Properties['launched_installer'] | Should -BeNullOrEmpty
        }

        It 'opens nothing under -WhatIf but lists the .qwc file it would open' {
            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ LaunchInstaller = $true; GrantRemoved = $true; WhatIf = $true }

            $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
            $open = @(Get-ResultAction -Result $run.Result -Text 'Open the Web Connector file (.qwc)')
            $open | Should -HaveCount 1
            $open[0].performed | Should -BeFalse
            $run.Result.data.launched_qwc.performed | Should -BeFalse
            (Get-ResultMessage -Result $run.Result -Text 'WhatIf: nothing was changed') | Should -HaveCount 1
            Should -Invoke -CommandName Register-ScheduledTask -Times 0 -Exactly
            Should -Invoke -CommandName Start-ScheduledTask -Times 0 -Exactly
        }

        It 'does not open the .qwc file while QuickBooks may still hold the old grant' {
            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ LaunchInstaller = $true }

            $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
            $run.Result.data.launched_qwc.grant.state | Should -Be 'unconfirmed'
            (Get-ResultMessage -Result $run.Result -Text 'run again with -LaunchInstaller -GrantRemoved') | Should -HaveCount 1
            @($run.Result.actions) | Should -HaveCount 0
            Should -Invoke -CommandName Register-ScheduledTask -Times 0 -Exactly
            Should -Invoke -CommandName Get-AuthenticodeSignature -Times 0 -Exactly
        }

        It 'refuses a .qwc file whose AppURL is not https' {
            $null = Write-FakeQwcFile -User $alice -Name 'codat-acme.qwc' -Text (Get-FakeQwcText -AppUrl 'http://quickbooksdesktop.codat.io/qbwc') -MinutesOld 5

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ LaunchInstaller = $true; GrantRemoved = $true }

            $run.Result.status | Should -Be 'failed' -Because $run.Json
            (Get-ResultCheck -Result $run.Result -Name 'qwc-valid')[0].passed | Should -BeFalse
            (Get-ResultMessage -Result $run.Result -Text 'is not https') | Should -HaveCount 1
            @($run.Result.actions) | Should -HaveCount 0
            Should -Invoke -CommandName Register-ScheduledTask -Times 0 -Exactly
        }

        It 'refuses a .qwc file that holds a DTD, and opens nothing' {
            $null = Write-FakeQwcFile -User $alice -Name 'codat-acme.qwc' -Text '<?xml version="1.0"?><!DOCTYPE QBWCXML [<!ENTITY url "https://quickbooksdesktop.codat.io/">]><QBWCXML><AppName>Codat</AppName><AppURL>&url;</AppURL></QBWCXML>' -MinutesOld 5

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ LaunchInstaller = $true; GrantRemoved = $true }

            $run.Result.status | Should -Be 'failed' -Because $run.Json
            $run.Result.data.qwc_files[0].readable | Should -BeFalse
            (Get-ResultCheck -Result $run.Result -Name 'qwc-found')[0].passed | Should -BeFalse
            (Get-ResultMessage -Result $run.Result -Text 'cannot be read safely as a Web Connector file') | Should -HaveCount 1
            @($run.Result.actions) | Should -HaveCount 0
            Should -Invoke -CommandName Register-ScheduledTask -Times 0 -Exactly
        }

        It 'does not open the .qwc file with an unsigned Web Connector' {
            Mock -CommandName Get-AuthenticodeSignature -MockWith { New-TestSignature -Status 'NotSigned' -Subject '' }

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ LaunchInstaller = $true; GrantRemoved = $true }

            $run.Result.status | Should -Be 'failed' -Because $run.Json
            (Get-ResultCheck -Result $run.Result -Name 'web-connector-trusted')[0].passed | Should -BeFalse
            (Get-ResultMessage -Result $run.Result -Text ('{0} is not trusted' -f $qbwc)) | Should -HaveCount 1
            @($run.Result.actions) | Should -HaveCount 0
            Should -Invoke -CommandName Register-ScheduledTask -Times 0 -Exactly
        }

        It 'fails, and records no opening, when the Web Connector''s task does not start (0x800710E0)' {
            Set-TestOneShotResult -Machine $machine -Result ([uint32]2147946720)

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ LaunchInstaller = $true; GrantRemoved = $true }

            $run.Result.status | Should -Be 'failed' -Because $run.Json
            $run.Result.data.launched_qwc.started | Should -BeFalse
            $open = @(Get-ResultAction -Result $run.Result -Text 'Open the Web Connector file (.qwc)')
            $open | Should -HaveCount 1
            $open[0].performed | Should -BeFalse
            (Get-ResultMessage -Result $run.Result -Text 'Could not open') | Should -HaveCount 1
            Should -Invoke -CommandName Unregister-ScheduledTask -Times 1 -Exactly
        }

        It 'starts the installer when no .qwc file was downloaded, and says where to get one' {
            Remove-Item -LiteralPath $qwc

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ LaunchInstaller = $true; GrantRemoved = $true }

            $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
            (Get-ResultCheck -Result $run.Result -Name 'qwc-found')[0].passed | Should -BeFalse
            $run.Result.data.steps[2] | Should -BeLike '*no readable .qwc file was found*'
            $run.Result.data.steps[3] | Should -BeLike 'Step 4: Download the Codat .qwc file again from Codat''s link page*'
            $run.Result.data.PSObject.Properties['launched_qwc'] | Should -BeNullOrEmpty
            $run.Result.data.launched_installer.path | Should -Be $installer
            $run.Result.data.launched_installer.started | Should -BeTrue
            Should -Invoke -CommandName New-ScheduledTaskAction -Times 1 -Exactly -ParameterFilter { $PesterBoundParameters['Execute'] -eq $installer }
        }

        It 'starts the installer when QBWebConnector.exe is gone, since it installs the Web Connector again' {
            Remove-Item -LiteralPath $qbwc

            $run = Invoke-RenderedScript -ScriptPath $script:Path -ScriptParameters @{ LaunchInstaller = $true; GrantRemoved = $true }

            $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
            (Get-ResultMessage -Result $run.Result -Text 'QBWebConnector.exe is missing') | Should -HaveCount 1
            $run.Result.data.launched_installer.started | Should -BeTrue
            Should -Invoke -CommandName New-ScheduledTaskAction -Times 1 -Exactly -ParameterFilter { $PesterBoundParameters['Execute'] -eq $installer }
        }

        It 'says the steps are the Web Connector''s when the older connector is there too' {
            $null = Add-FakeLegacyConnector -Machine $machine -ClientName 'Acme Books' -LinkJson '{"companyId":"6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b"}'

            $run = Invoke-RenderedScript -ScriptPath $script:Path

            $run.Result.status | Should -Be 'needs_user_action' -Because $run.Json
            @($run.Result.data.steps) | Should -HaveCount 6
            (Get-ResultMessage -Result $run.Result -Text 'This PC also has an older connector generation') | Should -HaveCount 1
        }
    }
}
